// An account's folder tree with Unipile roles. Roles come from Graph's well-known names, never from
// localised display names (reference microsoft §3.4). One `$batch` resolves the well-known folders
// and the child folders of each level; the result is cached briefly per account (folder ids are stable).
import type { Clock } from "../../lib/clock.ts";
import type { BatchStep, GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { GraphFolder, GraphPage } from "../../providers/microsoft/graph-types.ts";
import { type FolderRole, WELL_KNOWN_BY_ROLE } from "./email.types.ts";

export interface FolderEntry {
  folder: GraphFolder;
  role: FolderRole;
}

export interface FolderTree {
  /** By Graph folder id, in Graph's order (top level first, then children level by level). */
  byId: Map<string, FolderEntry>;
  /** Graph folder id of each role Outlook has. */
  byRole: Map<FolderRole, string>;
}

const FOLDER_FIELDS = "id,displayName,parentFolderId,childFolderCount,totalItemCount,unreadItemCount";
const CACHE_MS = 30_000;
const MAX_CACHED_ACCOUNTS = 1000;

export class FolderDirectory {
  private readonly cache = new Map<string, { at: number; tree: Promise<FolderTree> }>();

  constructor(
    private readonly graph: GraphClient,
    private readonly clock: Clock,
  ) {}

  async tree(accountId: string, options: { fresh?: boolean } = {}): Promise<FolderTree> {
    const cached = this.cache.get(accountId);
    if (cached && !options.fresh && this.clock.now() - cached.at < CACHE_MS) return cached.tree;
    const tree = this.load(accountId);
    this.cache.delete(accountId);
    if (this.cache.size >= MAX_CACHED_ACCOUNTS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(accountId, { at: this.clock.now(), tree });
    tree.catch(() => this.cache.delete(accountId));
    return tree;
  }

  /** The entry for a folder named by Graph id, Unipile role, Graph well-known name or display name. */
  async find(accountId: string, ref: { graphId?: string; name?: string }): Promise<FolderEntry | undefined> {
    for (const fresh of [false, true]) {
      const tree = await this.tree(accountId, { fresh });
      if (ref.graphId !== undefined) {
        const byId = tree.byId.get(ref.graphId);
        if (byId) return byId;
      }
      if (ref.name !== undefined) {
        const lower = ref.name.toLowerCase();
        const roleEntry = Object.entries(WELL_KNOWN_BY_ROLE).find(([, wk]) => wk === lower);
        const roleId = roleEntry ? tree.byRole.get(roleEntry[0] as FolderRole) : undefined;
        if (roleId) return tree.byId.get(roleId);
        for (const entry of tree.byId.values())
          if ((entry.folder.displayName ?? "").toLowerCase() === lower) return entry;
      }
    }
    return undefined;
  }

  private async load(accountId: string): Promise<FolderTree> {
    const top = await this.allPages<GraphFolder>(accountId, "/me/mailFolders", {
      $top: 250,
      $select: FOLDER_FIELDS,
    });
    const byId = new Map<string, FolderEntry>();
    for (const folder of top) byId.set(folder.id, { folder, role: "unknown" });

    const roles = Object.entries(WELL_KNOWN_BY_ROLE) as [FolderRole, string][];
    let parents = top.filter((f) => (f.childFolderCount ?? 0) > 0);
    const steps: BatchStep[] = [
      ...roles.map(([role, wk]) => ({
        id: `role-${role}`,
        path: `/me/mailFolders/${wk}`,
        query: { $select: "id" },
      })),
    ];
    const byRole = new Map<FolderRole, string>();
    for (let depth = 0; depth < 8 && (steps.length > 0 || parents.length > 0); depth++) {
      for (const [index, parent] of parents.entries())
        steps.push({
          id: `children-${index}`,
          path: `/me/mailFolders/${parent.id}/childFolders`,
          query: { $top: 250, $select: FOLDER_FIELDS },
        });
      const results = await this.graph.batch(accountId, steps);
      const next: GraphFolder[] = [];
      for (const [id, result] of results) {
        if (result.status >= 400) continue;
        if (id.startsWith("role-")) {
          const folderId = (result.body as { id?: string }).id;
          if (folderId) byRole.set(id.slice(5) as FolderRole, folderId);
        } else {
          for (const child of (result.body as GraphPage<GraphFolder>).value ?? []) {
            byId.set(child.id, { folder: child, role: "unknown" });
            if ((child.childFolderCount ?? 0) > 0) next.push(child);
          }
        }
      }
      steps.length = 0;
      parents = next;
    }
    for (const [role, folderId] of byRole) {
      const entry = byId.get(folderId);
      if (entry) entry.role = role;
    }
    return { byId, byRole };
  }

  private async allPages<T>(
    accountId: string,
    path: string,
    query: Record<string, string | number>,
  ): Promise<T[]> {
    const items: T[] = [];
    let page = await this.graph.json<GraphPage<T>>(accountId, { path, query });
    items.push(...(page.value ?? []));
    for (let i = 0; page["@odata.nextLink"] && i < 50; i++) {
      page = await this.graph.json<GraphPage<T>>(accountId, { path: page["@odata.nextLink"] });
      items.push(...(page.value ?? []));
    }
    return items;
  }
}
