import { Alert, CopyField } from "../../ui.tsx";

/** What the operator must know once: the secret, and that it is not shown again. */
export type Revealed = { title: string; secret: string; note?: string };

export function SecretShownOnce({ revealed, onDismiss }: { revealed: Revealed; onDismiss: () => void }) {
  return (
    <Alert kind="success" title={revealed.title}>
      <CopyField value={revealed.secret} label="the signing secret" />
      {revealed.note && <p>{revealed.note}</p>}
      <p>
        <button type="button" className="secondary small" onClick={onDismiss}>
          I have copied it
        </button>
      </p>
    </Alert>
  );
}
