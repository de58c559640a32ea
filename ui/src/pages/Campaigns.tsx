import { Link, useSearchParams } from "react-router-dom";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { CampaignStatus } from "../gql/graphql";
import { useT } from "../i18n";
import { can, useCan } from "../roles";
import { Empty, ErrorBox, formatTime, Guard, Loading, Pager, StatusBadge, usePager } from "../components/ui";

const CampaignsQuery = graphql(`
  query Campaigns($filter: CampaignFilter, $after: String) {
    programs { code name }
    campaigns(filter: $filter, first: 20, after: $after) {
      edges { node { id code name status pluginName pluginVersion timeZone startsAt endsAt program { code name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const statuses: CampaignStatus[] = ["DRAFT", "SCHEDULED", "ACTIVE", "PAUSED", "ENDED"];

export function CampaignsPage() {
  return <Guard roles={can.readCampaigns}><Campaigns /></Guard>;
}

function Campaigns() {
  const { t, lang } = useT();
  const allowed = useCan();
  const [params, setParams] = useSearchParams();
  const program = params.get("program") ?? "";
  const status = (params.get("status") ?? "") as CampaignStatus | "";
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({
    query: CampaignsQuery,
    variables: { filter: { program: program || null, status: status || null }, after: pager.after },
  });
  const set = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    setParams(p);
    pager.reset();
  };
  const edges = data?.campaigns.edges ?? [];
  return (
    <section>
      <div className="row spread">
        <h1>{t("campaigns.title")}</h1>
        {allowed(...can.manageCampaigns) && <Link className="button primary" to="/new">{t("nav.newCampaign")}</Link>}
      </div>
      <div className="filters">
        <label>{t("campaigns.program")}
          <select value={program} onChange={(e) => set("program", e.target.value)} name="program">
            <option value="">{t("common.all")}</option>
            {data?.programs.map((p) => <option key={p.code} value={p.code}>{p.name} ({p.code})</option>)}
          </select>
        </label>
        <label>{t("campaigns.status")}
          <select value={status} onChange={(e) => set("status", e.target.value)} name="status">
            <option value="">{t("common.all")}</option>
            {statuses.map((s) => <option key={s} value={s}>{t(("status." + s) as "status.ACTIVE")}</option>)}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {fetching && !data ? <Loading /> : edges.length === 0 ? <Empty>{t("campaigns.empty")}</Empty> : (
        <table className="list">
          <thead><tr><th>{t("campaigns.name")}</th><th>{t("campaigns.program")}</th><th>{t("campaigns.plugin")}</th><th>{t("campaigns.status")}</th><th>{t("campaigns.period")}</th></tr></thead>
          <tbody>
            {edges.map(({ node: c }) => (
              <tr key={c.id}>
                <td><Link to={"/campaigns/" + encodeURIComponent(c.code)} className="strong">{c.name}</Link><div className="muted mono">{c.code}</div></td>
                <td>{c.program.name}</td>
                <td className="mono nowrap">{c.pluginName}@{c.pluginVersion}</td>
                <td><StatusBadge status={c.status} /></td>
                <td>{formatTime(c.startsAt, c.timeZone, lang)} – {c.endsAt ? formatTime(c.endsAt, c.timeZone, lang) : t("campaigns.openEnded")}<div className="muted">{c.timeZone}</div></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} hasNext={!!data?.campaigns.pageInfo.hasNextPage} endCursor={data?.campaigns.pageInfo.endCursor} />
    </section>
  );
}
