// Small shared pieces: empty states, errors, confirmation dialogs, pagers, the role guard.
import { useContext, useState, type ReactNode } from "react";
import type { CombinedError } from "urql";
import { errorMessage } from "../api";
import { useT } from "../i18n";
import { ViewerContext } from "../roles";
import type { Role } from "../gql/graphql";

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty" role="status">{children}</div>;
}

export function ErrorBox({ error }: { error?: CombinedError | string }) {
  const { t } = useT();
  if (!error) return null;
  const message = typeof error === "string" ? error : errorMessage(error);
  return <div className="error" role="alert">{t("common.error", { message })}</div>;
}

export function Loading() {
  const { t } = useT();
  return <div className="loading" role="progressbar" aria-busy="true"><span className="spinner" />{t("common.loading")}</div>;
}

// Guard shows its children only to a key holding one of roles, and says why to others.
export function Guard({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const v = useContext(ViewerContext);
  const { t } = useT();
  if (!roles.some((r) => v.roles.includes(r))) {
    return <div className="forbidden" role="alert" data-testid="forbidden">{t("common.forbidden", { roles: v.roles.join(", ").toLowerCase(), needs: roles.join(" / ").toLowerCase() })}</div>;
  }
  return <>{children}</>;
}

// Confirm is a modal dialog asking to confirm an action.
export function Confirm({ title, children, onConfirm, onCancel, busy, confirmLabel }: {
  title: string; children?: ReactNode; onConfirm: () => void; onCancel: () => void; busy?: boolean; confirmLabel?: string;
}) {
  const { t } = useT();
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-label={title}>
        <h2>{title}</h2>
        {children}
        <div className="actions">
          <button type="button" onClick={onCancel} disabled={busy}>{t("common.cancel")}</button>
          <button type="button" className="primary" onClick={onConfirm} disabled={busy}>{busy ? t("common.loading") : confirmLabel ?? t("common.confirm")}</button>
        </div>
      </div>
    </div>
  );
}

// usePager keeps the cursors of the pages seen, for Relay connections paged with first/after.
export function usePager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  return {
    after: stack[stack.length - 1],
    page: stack.length,
    next: (cursor: string | null | undefined) => cursor && setStack([...stack, cursor]),
    prev: () => setStack(stack.length > 1 ? stack.slice(0, -1) : stack),
    reset: () => setStack([null]),
  };
}

export function Pager({ pager, hasNext, endCursor }: { pager: ReturnType<typeof usePager>; hasNext: boolean; endCursor?: string | null }) {
  if (pager.page === 1 && !hasNext) return null;
  return (
    <div className="pager">
      <button type="button" disabled={pager.page === 1} onClick={pager.prev}>‹</button>
      <span>{pager.page}</span>
      <button type="button" disabled={!hasNext} onClick={() => pager.next(endCursor)} aria-label="next page">›</button>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useT();
  return <span className={"badge status-" + status.toLowerCase()}>{t(("status." + status) as "status.ACTIVE")}</span>;
}

// formatTime shows an RFC 3339 instant in the given IANA zone (default: the browser's).
export function formatTime(value: string | null | undefined, zone?: string, lang = "en"): string {
  if (!value) return "—";
  const d = new Date(value);
  try {
    return d.toLocaleString(lang === "ru" ? "ru-RU" : "en-GB", { timeZone: zone, dateStyle: "medium", timeStyle: "short" });
  } catch {
    return d.toISOString();
  }
}

export function formatNumber(n: number, lang = "en"): string {
  return n.toLocaleString(lang === "ru" ? "ru-RU" : "en-GB");
}
