// Shared pieces: copy buttons, alerts, loading and empty states, labelled fields.
import { type ReactNode, useEffect, useId, useState } from "react";

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="secondary small"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          // Clipboard refused (http origin or permissions): select-and-copy still works on the text.
        }
        setCopied(true);
      }}
    >
      {copied ? "Copied" : "Copy"}
      <span className="visually-hidden" aria-live="polite">
        {copied ? " copied to the clipboard" : ""}
      </span>
    </button>
  );
}

export function CopyField({ value, label }: { value: string; label: string }) {
  return (
    <div className="copy-field">
      <code>{value}</code>
      <CopyButton value={value} label={`Copy ${label}`} />
    </div>
  );
}

export function Alert({
  kind,
  title,
  children,
}: {
  kind: "error" | "warning" | "success" | "info";
  title?: string;
  children?: ReactNode;
}) {
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {title && <strong>{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: ReactNode;
  children: (props: { id: string; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(hint ? { id, "aria-describedby": hintId } : { id })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const tone = status === "OK" ? "ok" : status === "CREDENTIALS" || status === "ERROR" ? "bad" : "neutral";
  return <span className={`badge badge-${tone}`}>{status}</span>;
}

/** Runs `load` on mount and on `reload()`; exposes data, error and loading state. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: callers pass the inputs of `load` as deps
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error: error.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [tick, ...deps]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
