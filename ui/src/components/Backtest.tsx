import { useEffect, useMemo, useState } from "react";
import { useMutation, useQuery } from "urql";
import { fieldErrors } from "../api";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { DailyChart } from "./Chart";
import { Empty, ErrorBox, formatNumber, formatTime } from "./ui";

const BacktestsQuery = graphql(`
  query Backtests($campaign: ID!) {
    backtests(campaign: $campaign, first: 1) {
      id status progress simulatedTo eventsTotal eventsDone error from to createdAt finishedAt cost
      totals { eventsEvaluated enrollmentsReplayed enrollmentsAccepted hookRuns pointsIssued pointsDebited benefitsGranted membersReached refused }
      days { date eventsEvaluated pointsIssued benefitsGranted membersReached }
    }
  }
`);

const StartBacktest = graphql(`
  mutation StartBacktest($input: StartBacktestInput!) { startBacktest(input: $input) { id status } }
`);

const CancelBacktest = graphql(`
  mutation CancelBacktest($id: ID!) { cancelBacktest(id: $id) { id status } }
`);

// BacktestPanel runs a draft campaign over a past period (startBacktest), follows its progress
// and charts what it would have done per day.
export function BacktestPanel({ campaignId, timeZone, manage }: { campaignId: string; timeZone: string; manage: boolean }) {
  const { t, lang } = useT();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [{ data, error }, refetch] = useQuery({ query: BacktestsQuery, variables: { campaign: campaignId }, requestPolicy: "network-only" });
  const [startState, start] = useMutation(StartBacktest);
  const [cancelState, cancel] = useMutation(CancelBacktest);
  const b = data?.backtests[0];
  const running = b?.status === "RUNNING";
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => refetch({ requestPolicy: "network-only" }), 1000);
    return () => clearInterval(id);
  }, [running, refetch]);
  const chart = useMemo(() => b && {
    labels: b.days.map((d) => d.date),
    series: [
      { label: t("backtest.benefits"), values: b.days.map((d) => d.benefitsGranted), color: "#2f855a" },
      { label: t("backtest.reached"), values: b.days.map((d) => d.membersReached), color: "#a0aec0" },
      { label: t("backtest.points"), values: b.days.map((d) => d.pointsIssued), color: "#2b6cb0", kind: "line" as const },
    ],
  }, [b, t]);
  const problems = fieldErrors(startState.error);
  return (
    <div className="card" data-testid="backtest">
      <h2>{t("backtest.title")}</h2>
      <p className="muted">{t("backtest.lead")}</p>
      {manage && (
        <form className="filters" onSubmit={async (e) => {
          e.preventDefault();
          const res = await start({ input: { campaign: campaignId, from: from + "T00:00:00Z", to: to + "T00:00:00Z" } });
          if (!res.error) refetch({ requestPolicy: "network-only" });
        }}>
          <label>{t("backtest.from")}<input type="date" required value={from} onChange={(e) => setFrom(e.target.value)} name="backtest-from" /></label>
          <label>{t("backtest.to")}<input type="date" required value={to} onChange={(e) => setTo(e.target.value)} name="backtest-to" /></label>
          <button type="submit" className="primary" disabled={startState.fetching || running}>{t("backtest.run")}</button>
        </form>
      )}
      <ErrorBox error={problems.length ? problems.map((p) => p.field + ": " + p.message).join("; ") : startState.error || cancelState.error || error} />
      {!b ? <Empty>{t("backtest.none")}</Empty> : (
        <>
          <div className="row spread">
            <div>
              <b data-testid="backtest-status">{t(("backtest.status." + b.status) as "backtest.status.DONE")}</b>{" "}
              <span className="muted">{formatTime(b.from, timeZone, lang)} – {formatTime(b.to, timeZone, lang)}</span>
            </div>
            {manage && running && <button className="danger" onClick={async () => { await cancel({ id: b.id }); refetch({ requestPolicy: "network-only" }); }}>{t("backtest.cancel")}</button>}
          </div>
          <progress max={1} value={b.progress} aria-label={t("backtest.progress")} />
          <div className="muted">
            {t("backtest.eventsDone", { done: formatNumber(b.eventsDone, lang), total: formatNumber(b.eventsTotal, lang) })}
            {b.simulatedTo && " · " + t("backtest.simulatedTo", { at: formatTime(b.simulatedTo, timeZone, lang) })}
          </div>
          {b.error && <div className="error" role="alert">{b.error}</div>}
          <div className="totals" data-testid="backtest-totals">
            <div><b>{formatNumber(b.totals.eventsEvaluated, lang)}</b>{t("backtest.events")}</div>
            <div><b>{formatNumber(b.totals.enrollmentsAccepted, lang)}</b>{t("backtest.enrollments")}</div>
            <div><b data-testid="backtest-benefits">{formatNumber(b.totals.benefitsGranted, lang)}</b>{t("backtest.benefits")}</div>
            <div><b>{formatNumber(b.totals.pointsIssued, lang)}</b>{t("backtest.points")}</div>
            <div><b>{formatNumber(b.totals.membersReached, lang)}</b>{t("backtest.reached")}</div>
            {b.cost != null && <div><b>{formatNumber(b.cost, lang)}</b>{t("backtest.cost")}</div>}
          </div>
          {chart && b.days.length ? <DailyChart labels={chart.labels} series={chart.series} ariaLabel={t("backtest.chart")} /> : <Empty>{t("backtest.noDays")}</Empty>}
        </>
      )}
    </div>
  );
}
