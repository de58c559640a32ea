import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { fieldErrors, type FieldError } from "../api";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can, useCan } from "../roles";
import { BacktestPanel } from "../components/Backtest";
import { DailyChart } from "../components/Chart";
import { ConfigForm, Diff } from "../components/ConfigForm";
import { ShadowPanel } from "../components/ShadowPanel";
import { Confirm, Empty, ErrorBox, formatNumber, formatTime, Guard, Loading, Pager, StatusBadge, usePager } from "../components/ui";

const CampaignQuery = graphql(`
  query Campaign($code: String!, $from: Date, $to: Date) {
    campaign(code: $code) {
      id code name status timeZone startsAt endsAt pluginName pluginVersion config updatedAt
      program { code name }
      plugin { configSchema schedules { name spec } eventTypes }
      figures(from: $from, to: $to) {
        from to
        days { date applied noEffect waiting refused pointsIssued }
        total { applied noEffect waiting refused pointsIssued }
        noEffectReasons { reason count }
      }
    }
  }
`);

const ParticipantsQuery = graphql(`
  query Participants($code: String!, $search: String, $after: String) {
    campaign(code: $code) {
      id
      participants(search: $search, first: 20, after: $after) {
        edges { node { id registeredBy responsible enrolledAt member { externalRef name email } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

const Transition = {
  ACTIVATE: graphql(`mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status updatedAt } }`),
  PAUSE: graphql(`mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status updatedAt } }`),
  END: graphql(`mutation EndCampaign($id: ID!) { endCampaign(id: $id) { id status updatedAt } }`),
};

const UpdateConfig = graphql(`
  mutation UpdateCampaignConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config updatedAt } }
`);

export function CampaignPage() {
  return <Guard roles={can.readCampaigns}><Campaign /></Guard>;
}

function Campaign() {
  const { code = "" } = useParams();
  const { t, lang } = useT();
  const allowed = useCan();
  const [period, setPeriod] = useState<{ from?: string; to?: string }>({});
  const [{ data, fetching, error }, refetch] = useQuery({ query: CampaignQuery, variables: { code, from: period.from || null, to: period.to || null } });
  const [act, setAct] = useState<null | "ACTIVATE" | "PAUSE" | "RESUME" | "END">(null);
  const [actState, runActivate] = useMutation(Transition.ACTIVATE);
  const [pauseState, runPause] = useMutation(Transition.PAUSE);
  const [endState, runEnd] = useMutation(Transition.END);
  const [editing, setEditing] = useState<unknown>(null);
  const [reviewing, setReviewing] = useState(false);
  const [configErrors, setConfigErrors] = useState<FieldError[]>([]);
  const [updateState, update] = useMutation(UpdateConfig);
  const c = data?.campaign;
  const figures = c?.figures;
  const chart = useMemo(() => {
    if (!figures) return null;
    return {
      labels: figures.days.map((d) => d.date.slice(5)),
      series: [
        { label: t("campaign.applied"), values: figures.days.map((d) => d.applied), color: "#2f855a" },
        { label: t("campaign.noEffect"), values: figures.days.map((d) => d.noEffect), color: "#a0aec0" },
        { label: t("campaign.waiting"), values: figures.days.map((d) => d.waiting), color: "#d69e2e" },
        { label: t("campaign.refused"), values: figures.days.map((d) => d.refused), color: "#c53030" },
        { label: t("campaign.points"), values: figures.days.map((d) => d.pointsIssued), color: "#2b6cb0", kind: "line" as const },
      ],
    };
  }, [figures, t]);
  if (fetching && !data) return <Loading />;
  if (error) return <ErrorBox error={error} />;
  if (!c) return <Empty>{t("common.notFound")}</Empty>;
  const manage = allowed(...can.manageCampaigns);
  const busy = actState.fetching || pauseState.fetching || endState.fetching;
  const transitionError = actState.error || pauseState.error || endState.error;
  const confirmText = act && t(({ ACTIVATE: "campaign.confirmActivate", PAUSE: "campaign.confirmPause", RESUME: "campaign.confirmResume", END: "campaign.confirmEnd" } as const)[act], { name: c.name });
  const run = async () => {
    if (act === "ACTIVATE" || act === "RESUME") await runActivate({ id: c.id });
    else if (act === "PAUSE") await runPause({ id: c.id });
    else if (act === "END") await runEnd({ id: c.id });
    setAct(null);
    refetch({ requestPolicy: "network-only" });
  };
  const total = figures?.total;
  const anyEvents = total && total.applied + total.noEffect + total.waiting + total.refused > 0;
  return (
    <section>
      <div className="row spread">
        <div>
          <h1 className="title-wrap">{c.name} <StatusBadge status={c.status} /></h1>
          <div className="muted mono">{c.code} · {c.program.name} · {c.pluginName}@{c.pluginVersion}</div>
        </div>
        {manage && (
          <div className="actions">
            {c.status === "DRAFT" && <button className="primary" onClick={() => setAct("ACTIVATE")}>{t("campaign.activate")}</button>}
            {(c.status === "ACTIVE" || c.status === "SCHEDULED") && <button onClick={() => setAct("PAUSE")}>{t("campaign.pause")}</button>}
            {c.status === "PAUSED" && <button className="primary" onClick={() => setAct("RESUME")}>{t("campaign.resume")}</button>}
            {c.status !== "ENDED" && <button className="danger" onClick={() => setAct("END")}>{t("campaign.end")}</button>}
          </div>
        )}
      </div>
      <ErrorBox error={transitionError} />
      {act && <Confirm title={t(("campaign." + act.toLowerCase()) as "campaign.pause")} onCancel={() => setAct(null)} onConfirm={run} busy={busy}><p>{confirmText}</p></Confirm>}

      <div className="grid2">
        <div className="card">
          <h2>{t("campaign.schedule")}</h2>
          <dl>
            <dt>{t("campaign.timeZone")}</dt><dd>{c.timeZone}</dd>
            <dt>{t("campaign.starts")}</dt><dd>{formatTime(c.startsAt, c.timeZone, lang)}</dd>
            <dt>{t("campaign.ends")}</dt><dd>{c.endsAt ? formatTime(c.endsAt, c.timeZone, lang) : t("campaigns.openEnded")}</dd>
            <dt>{t("campaign.hooks")}</dt>
            <dd>{c.plugin?.schedules.length ? c.plugin.schedules.map((s) => <div key={s.name} className="mono">{s.name}: {s.spec}</div>) : t("campaign.noHooks")}</dd>
          </dl>
          {c.pluginName === "giftbymonth" && <Link to={"/fulfilment?campaign=" + encodeURIComponent(c.code)}>{t("campaign.fulfilment")} →</Link>}
        </div>
        <div className="card">
          <h2>{t("campaign.figures")}</h2>
          <div className="filters">
            <label>{t("campaign.from")}<input type="date" value={period.from ?? figures?.from ?? ""} onChange={(e) => setPeriod({ ...period, from: e.target.value })} name="from" /></label>
            <label>{t("campaign.to")}<input type="date" value={period.to ?? figures?.to ?? ""} onChange={(e) => setPeriod({ ...period, to: e.target.value })} name="to" /></label>
          </div>
          {total && (
            <div className="totals" data-testid="totals">
              <div><b>{formatNumber(total.applied, lang)}</b>{t("campaign.applied")}</div>
              <div><b>{formatNumber(total.noEffect, lang)}</b>{t("campaign.noEffect")}</div>
              <div><b>{formatNumber(total.waiting, lang)}</b>{t("campaign.waiting")}</div>
              <div><b>{formatNumber(total.refused, lang)}</b>{t("campaign.refused")}</div>
              <div><b data-testid="points-issued">{formatNumber(total.pointsIssued, lang)}</b>{t("campaign.points")}</div>
            </div>
          )}
          {anyEvents && chart ? <DailyChart labels={chart.labels} series={chart.series} ariaLabel={t("campaign.figures")} /> : <Empty>{t("campaign.noEvents")}</Empty>}
          <h3>{t("campaign.reasons")}</h3>
          {figures?.noEffectReasons.length ? (
            <ol className="reasons">{figures.noEffectReasons.map((r) => <li key={r.reason}><span>{r.reason}</span> <b>{r.count}</b></li>)}</ol>
          ) : <p className="muted">{t("campaign.noReasons")}</p>}
        </div>
      </div>

      <div className="card">
        <div className="row spread">
          <h2>{t("campaign.settings")}</h2>
          {manage && c.status !== "ENDED" && editing === null && <button onClick={() => { setEditing(c.config); setConfigErrors([]); }}>{t("campaign.edit")}</button>}
        </div>
        {editing === null ? (
          <ConfigForm id="settings" schema={c.plugin?.configSchema} value={c.config} onChange={() => {}} errors={[]} disabled />
        ) : (
          <>
            <ConfigForm id="edit" schema={c.plugin?.configSchema} value={editing} onChange={setEditing} errors={configErrors} />
            {configErrors.length > 0 && <div className="error" role="alert">{t("new.fieldErrors")}</div>}
            <ErrorBox error={configErrors.length ? undefined : updateState.error} />
            <div className="actions">
              <button onClick={() => setEditing(null)}>{t("common.cancel")}</button>
              <button className="primary" onClick={() => setReviewing(true)}>{t("common.save")}</button>
            </div>
          </>
        )}
        {reviewing && (
          <Confirm title={t("campaign.diffTitle")} busy={updateState.fetching} onCancel={() => setReviewing(false)} onConfirm={async () => {
            const res = await update({ id: c.id, config: editing });
            setReviewing(false);
            if (res.error) setConfigErrors(fieldErrors(res.error));
            else { setEditing(null); setConfigErrors([]); refetch({ requestPolicy: "network-only" }); }
          }}>
            <p>{t("campaign.diffLead", { name: c.name, status: t(("status." + c.status) as "status.ACTIVE") })}</p>
            <Diff before={c.config} after={editing} none={t("campaign.diffNone")} />
          </Confirm>
        )}
      </div>

      {manage && <ShadowPanel code={c.code} name={c.name} pluginName={c.pluginName} pluginVersion={c.pluginVersion} config={c.config}
        schema={c.plugin?.configSchema} running={c.status === "ACTIVE" || c.status === "SCHEDULED"}
        onPromoted={() => refetch({ requestPolicy: "network-only" })} />}
      {c.status === "DRAFT" && <BacktestPanel campaignId={c.id} timeZone={c.timeZone} manage={manage} />}

      <Participants code={c.code} />
    </section>
  );
}

function Participants({ code }: { code: string }) {
  const { t, lang } = useT();
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: ParticipantsQuery, variables: { code, search: applied || null, after: pager.after } });
  const conn = data?.campaign?.participants;
  return (
    <div className="card">
      <h2>{t("campaign.participants")}</h2>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); setApplied(search.trim()); pager.reset(); }}>
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t("campaign.searchParticipants")} aria-label={t("campaign.searchParticipants")} name="participant-search" />
        <button type="submit">{t("common.search")}</button>
      </form>
      <ErrorBox error={error} />
      {fetching && !data ? <Loading /> : !conn?.edges.length ? <Empty>{t("campaign.noParticipants")}</Empty> : (
        <table className="list">
          <thead><tr><th>{t("campaign.member")}</th><th>{t("campaign.registeredBy")}</th><th>{t("campaign.enrolledAt")}</th></tr></thead>
          <tbody>
            {conn.edges.map(({ node: e }) => (
              <tr key={e.id}>
                <td><Link to={"/members/" + encodeURIComponent(e.member.externalRef)}>{e.member.name || e.member.externalRef}</Link><div className="muted mono">{e.member.externalRef}</div></td>
                <td>{e.registeredBy || "—"}{e.responsible && <div className="muted">{e.responsible}</div>}</td>
                <td>{formatTime(e.enrolledAt, undefined, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} hasNext={!!conn?.pageInfo.hasNextPage} endCursor={conn?.pageInfo.endCursor} />
    </div>
  );
}
