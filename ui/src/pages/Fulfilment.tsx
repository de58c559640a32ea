import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can } from "../roles";
import { Confirm, Empty, ErrorBox, formatTime, Guard, Loading } from "../components/ui";

const FulfilmentCampaigns = graphql(`
  query FulfilmentCampaigns {
    campaigns(first: 100) { edges { node { id code name pluginName } } }
  }
`);

const FulfilmentQuery = graphql(`
  query Fulfilment($code: String!, $month: String!) {
    campaign(code: $code) {
      id name
      fulfillment(month: $month) {
        id key title recipient fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote createdAt
        member { externalRef name }
      }
    }
  }
`);

const SetStatus = graphql(`
  mutation SetFulfillmentStatus($input: SetFulfillmentStatusInput!) {
    setFulfillmentStatus(input: $input) { benefit { id fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote } }
  }
`);

const PAGE = 50;

// csvCell quotes a value for CSV (RFC 4180) and defuses spreadsheet formulas.
export function csvCell(v: string | number | null | undefined): string {
  let s = v == null ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function FulfilmentPage() {
  return <Guard roles={can.fulfilment}><Fulfilment /></Guard>;
}

function Fulfilment() {
  const { t, lang } = useT();
  const [params, setParams] = useSearchParams();
  const [page, setPage] = useState(0);
  const [marking, setMarking] = useState<{ id: string; status: "DELIVERED" | "CANCELLED"; note: string; recipient: string } | null>(null);
  const [setState, setStatus] = useMutation(SetStatus);
  const [{ data: list }] = useQuery({ query: FulfilmentCampaigns });
  const campaigns = (list?.campaigns.edges ?? []).map((e) => e.node);
  const code = params.get("campaign") ?? campaigns.find((c) => c.pluginName === "giftbymonth")?.code ?? campaigns[0]?.code ?? "";
  const now = new Date();
  const month = params.get("month") ?? `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const [{ data, fetching, error }] = useQuery({ query: FulfilmentQuery, variables: { code, month }, pause: !code });
  const rows = data?.campaign?.fulfillment ?? [];
  const set = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    p.set("campaign", code);
    p.set("month", month);
    p.set(k, v);
    setParams(p);
    setPage(0);
  };
  const exportCSV = () => {
    const header = ["recipient", "member_ref", "member_name", "gift", "status", "benefit_id"];
    const lines = [header.join(","), ...rows.map((b) => [b.recipient, b.member.externalRef, b.member.name, b.title, b.fulfillmentStatus ?? "", b.id].map(csvCell).join(","))];
    const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `fulfilment-${code}-${month}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <section>
      <h1>{t("fulfilment.title")}</h1>
      <p className="muted">{t("fulfilment.lead")}</p>
      <div className="filters">
        <label>{t("fulfilment.campaign")}
          <select name="campaign" value={code} onChange={(e) => set("campaign", e.target.value)}>
            {campaigns.map((c) => <option key={c.id} value={c.code}>{c.name} ({c.code})</option>)}
          </select>
        </label>
        <label>{t("fulfilment.month")}<input name="month" type="month" value={month} onChange={(e) => e.target.value && set("month", e.target.value)} /></label>
        <button type="button" onClick={exportCSV} disabled={rows.length === 0}>{t("fulfilment.csv")}</button>
        {rows.length > 0 && <span className="muted">{t("common.shown", { count: rows.length })}</span>}
      </div>
      <ErrorBox error={error || setState.error} />
      {marking && (
        <Confirm title={t(marking.status === "DELIVERED" ? "fulfilment.markDelivered" : "fulfilment.cancel")} busy={setState.fetching}
          onCancel={() => setMarking(null)}
          onConfirm={async () => {
            const res = await setStatus({ input: { benefitId: marking.id, status: marking.status, note: marking.note.trim() || null } });
            if (!res.error) setMarking(null);
          }}>
          <p>{t(marking.status === "DELIVERED" ? "fulfilment.confirmDelivered" : "fulfilment.confirmCancel", { recipient: marking.recipient })}</p>
          <label>{t("fulfilment.note")}<input name="note" value={marking.note} onChange={(e) => setMarking({ ...marking, note: e.target.value })} /></label>
        </Confirm>
      )}
      {fetching && !data ? <Loading /> : rows.length === 0 ? <Empty>{t("fulfilment.empty", { month })}</Empty> : (
        <>
        <table className="list" data-testid="fulfilment">
          <thead><tr><th>{t("fulfilment.recipient")}</th><th>{t("fulfilment.member")}</th><th>{t("fulfilment.gift")}</th><th>{t("fulfilment.state")}</th><th /></tr></thead>
          <tbody>{rows.slice(page * PAGE, (page + 1) * PAGE).map((b) => (
            <tr key={b.id} data-benefit={b.id}>
              <td className="strong">{b.recipient}</td>
              <td><Link to={"/members/" + encodeURIComponent(b.member.externalRef)}>{b.member.name || b.member.externalRef}</Link><div className="muted mono">{b.member.externalRef}</div></td>
              <td>{b.title}</td>
              <td>
                <span className={"badge fulfil-" + (b.fulfillmentStatus ?? "").toLowerCase()}>{t(("fulfilment.status." + b.fulfillmentStatus) as "fulfilment.status.TO_DELIVER")}</span>
                {b.fulfillmentChangedAt && <div className="muted small">{formatTime(b.fulfillmentChangedAt, undefined, lang)} · {b.fulfillmentChangedBy}</div>}
                {b.fulfillmentNote && <div className="muted small">{b.fulfillmentNote}</div>}
              </td>
              <td className="nowrap">{b.fulfillmentStatus === "TO_DELIVER" && <>
                <button className="primary" onClick={() => setMarking({ id: b.id, status: "DELIVERED", note: "", recipient: b.recipient })}>{t("fulfilment.markDelivered")}</button>{" "}
                <button className="danger" onClick={() => setMarking({ id: b.id, status: "CANCELLED", note: "", recipient: b.recipient })}>{t("fulfilment.cancel")}</button>
              </>}</td>
            </tr>
          ))}</tbody>
        </table>
        {rows.length > PAGE && (
          <div className="pager">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>‹</button>
            <span>{page + 1} / {Math.ceil(rows.length / PAGE)}</span>
            <button type="button" disabled={(page + 1) * PAGE >= rows.length} onClick={() => setPage(page + 1)}>›</button>
          </div>
        )}
        </>
      )}
    </section>
  );
}
