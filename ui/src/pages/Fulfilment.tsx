import { useSearchParams } from "react-router-dom";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can } from "../roles";
import { Empty, ErrorBox, Guard, Loading } from "../components/ui";

const FulfilmentCampaigns = graphql(`
  query FulfilmentCampaigns {
    campaigns(first: 100) { edges { node { id code name pluginName } } }
  }
`);

const FulfilmentQuery = graphql(`
  query Fulfilment($code: String!, $month: String!) {
    campaign(code: $code) {
      id name
      fulfillment(month: $month) { id key title recipient quantity fulfillment validFrom createdAt }
    }
  }
`);

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
  const { t } = useT();
  const [params, setParams] = useSearchParams();
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
  };
  const exportCSV = () => {
    const header = ["recipient", "gift", "fulfillment", "benefit_id"];
    const lines = [header.join(","), ...rows.map((b) => [b.recipient, b.title, b.fulfillment ?? "", b.id].map(csvCell).join(","))];
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
      </div>
      <ErrorBox error={error} />
      {fetching && !data ? <Loading /> : rows.length === 0 ? <Empty>{t("fulfilment.empty", { month })}</Empty> : (
        <table className="list" data-testid="fulfilment">
          <thead><tr><th>{t("fulfilment.recipient")}</th><th>{t("fulfilment.gift")}</th><th>{t("fulfilment.state")}</th></tr></thead>
          <tbody>{rows.map((b) => (
            <tr key={b.id}><td>{b.recipient}</td><td>{b.title}</td><td>{b.fulfillment}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
