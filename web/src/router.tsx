// A small history-API router: the app has a handful of pages (DASHBOARD_PAGES, the list the server
// also answers with the app on a reload), so no routing library.
import {
  type AnchorHTMLAttributes,
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useState,
} from "react";
import { DASHBOARD_PAGES, type DashboardPage } from "../../src/contracts/dashboard/constants.ts";

const PathContext = createContext<{ path: string; search: string; navigate: (to: string) => void }>({
  path: "/",
  search: "",
  navigate: () => {},
});

export function Router({ children }: { children: ReactNode }) {
  const [location, setLocation] = useState({
    path: window.location.pathname,
    search: window.location.search,
  });
  useEffect(() => {
    const onPop = () => setLocation({ path: window.location.pathname, search: window.location.search });
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = (to: string) => {
    window.history.pushState(null, "", to);
    const url = new URL(to, window.location.origin);
    setLocation({ path: url.pathname, search: url.search });
    window.scrollTo(0, 0);
  };
  return <PathContext.Provider value={{ ...location, navigate }}>{children}</PathContext.Provider>;
}

export function useLocation() {
  return useContext(PathContext);
}

export function Link({
  href,
  children,
  ...rest
}: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { navigate } = useLocation();
  return (
    <a
      href={href}
      {...rest}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

export interface PageMatch {
  page: DashboardPage;
  /** Values of the pattern's `:name` segments, decoded. */
  params: Record<string, string>;
}

/** Which of DASHBOARD_PAGES a path shows (a trailing slash is ignored, as the server does). */
export function matchPage(path: string): PageMatch | undefined {
  const segments = (path.length > 1 ? path.replace(/\/+$/, "") : path).split("/");
  for (const [page, pattern] of Object.entries(DASHBOARD_PAGES) as [DashboardPage, string][]) {
    const parts = pattern.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const segment = segments[i] ?? "";
      if (!part.startsWith(":")) return part === segment;
      if (!segment) return false;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
        return true;
      } catch {
        return false;
      }
    });
    if (matches) return { page, params };
  }
  return undefined;
}
