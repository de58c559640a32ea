import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { fieldErrors, type FieldError } from "../api";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { ConfigForm } from "./ConfigForm";
import { Confirm, Empty, ErrorBox, formatNumber, formatTime, Loading, Pager, usePager } from "./ui";

// The shadow run of a campaign (docs/shadow.md): its status, the diff with the live decisions
// (counts, points each way, the events decided differently) and promote/drop with confirmation;
// attach one when there is none.

const ShadowQuery = graphql(`
  query CampaignShadow($code: String!, $after: String) {
    campaign(code: $code) {
      id
      shadow {
        plugin pluginVersion config status attachedAt attachedBy
        health { state consecutiveFailures }
        diff {
          events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits membersAffected lastError
          examples(first: 10, after: $after) {
            edges { node {
              event { id externalId occurredAt }
              member { externalRef name }
              live { points effects { kind } noEffectReason error }
              shadow { points effects { kind } noEffectReason error }
            } }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    }
    plugins { name version }
  }
`);

const Attach = graphql(`
  mutation AttachShadow($input: AttachShadowInput!) { attachShadow(input: $input) { status } }
`);
const Promote = graphql(`
  mutation PromoteShadow($id: ID!) { promoteShadow(campaignId: $id) { status campaign { id pluginVersion config updatedAt } } }
`);
const Drop = graphql(`
  mutation DropShadow($id: ID!) { dropShadow(campaignId: $id) { status } }
`);

type Side = { points: number; effects: { kind: string }[]; noEffectReason?: string | null; error?: string | null };

export function ShadowPanel({ code, name, pluginName, pluginVersion, config, schema, running, onPromoted }: {
  code: string; name: string; pluginName: string; pluginVersion: string; config: unknown; schema: unknown; running: boolean;
  onPromoted: () => void;
}) {
  const { t, lang } = useT();
  const pager = usePager();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ShadowQuery, variables: { code, after: pager.after } });
  const [attaching, setAttaching] = useState<null | { version: string; config: unknown }>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [act, setAct] = useState<null | "PROMOTE" | "DROP">(null);
  const [attachState, attach] = useMutation(Attach);
  const [promoteState, promote] = useMutation(Promote);
  const [dropState, drop] = useMutation(Drop);
  if (fetching && !data) return <div className="card"><Loading /></div>;
  const c = data?.campaign;
  const sh = c?.shadow;
  const versions = (data?.plugins ?? []).filter((p) => p.name === pluginName).map((p) => p.version);
  const reload = () => refetch({ requestPolicy: "network-only" });
  const side = (s: Side) => s.error ? <span className="error">{s.error}</span>
    : s.effects.length ? <span><b>{formatNumber(s.points, lang)}</b> · {s.effects.map((e) => e.kind).join(", ")}</span>
    : <span className="muted">{t("shadow.noEffect")}{s.noEffectReason ? ": " + s.noEffectReason : ""}</span>;
  return (
    <div className="card" data-testid="shadow">
      <div className="row spread">
        <h2>{t("shadow.title")}</h2>
        {sh && (
          <div className="actions">
            <button className="primary" onClick={() => setAct("PROMOTE")}>{t("shadow.promote")}</button>
            <button className="danger" onClick={() => setAct("DROP")}>{t("shadow.drop")}</button>
          </div>
        )}
        {!sh && running && attaching === null && (
          <button onClick={() => { setAttaching({ version: pluginVersion, config }); setErrors([]); }}>{t("shadow.attach")}</button>
        )}
      </div>
      <p className="muted">{t("shadow.lead")}</p>
      <ErrorBox error={error || promoteState.error || dropState.error} />
      {!sh && attaching === null && <Empty>{t("shadow.none")}</Empty>}
      {!sh && attaching !== null && (
        <>
          <label>{t("shadow.version")}
            <select name="shadow-version" value={attaching.version} onChange={(e) => setAttaching({ ...attaching, version: e.target.value })}>
              {versions.map((v) => <option key={v} value={v}>{v}</option>)}
            </select>
          </label>
          <h3>{t("shadow.settings")}</h3>
          <ConfigForm id="shadow" schema={schema} value={attaching.config} onChange={(v) => setAttaching({ ...attaching, config: v })} errors={errors} />
          {errors.length > 0 && <div className="error" role="alert">{t("new.fieldErrors")}</div>}
          <ErrorBox error={errors.length ? undefined : attachState.error} />
          <div className="actions">
            <button onClick={() => setAttaching(null)}>{t("common.cancel")}</button>
            <button className="primary" disabled={attachState.fetching} onClick={async () => {
              const res = await attach({ input: { campaignId: c!.id, pluginVersion: attaching.version, config: attaching.config } });
              if (res.error) setErrors(fieldErrors(res.error));
              else { setAttaching(null); setErrors([]); reload(); }
            }}>{t("shadow.attach")}</button>
          </div>
        </>
      )}
      {sh && (
        <>
          <div className="muted mono">{t("shadow.runs", { plugin: sh.plugin, version: sh.pluginVersion })} · {t("shadow.attachedAt", { at: formatTime(sh.attachedAt, undefined, lang), by: sh.attachedBy })}</div>
          <div className="totals" data-testid="shadow-totals">
            <div><b>{formatNumber(sh.diff.events, lang)}</b>{t("shadow.events")}</div>
            <div><b>{formatNumber(sh.diff.agreed, lang)}</b>{t("shadow.agreed")}</div>
            <div><b data-testid="shadow-disagreed">{formatNumber(sh.diff.disagreed, lang)}</b>{t("shadow.disagreed")}</div>
            <div><b>{formatNumber(sh.diff.pending, lang)}</b>{t("shadow.pending")}</div>
            <div><b>{formatNumber(sh.diff.failed, lang)}</b>{t("shadow.failed")}</div>
            <div><b>{formatNumber(sh.diff.membersAffected, lang)}</b>{t("shadow.members")}</div>
            <div><b data-testid="shadow-live-points">{formatNumber(sh.diff.livePoints, lang)}</b>{t("shadow.pointsLive")}</div>
            <div><b data-testid="shadow-shadow-points">{formatNumber(sh.diff.shadowPoints, lang)}</b>{t("shadow.pointsShadow")}</div>
            <div><b>{formatNumber(sh.diff.liveBenefits, lang)}</b>{t("shadow.benefitsLive")}</div>
            <div><b>{formatNumber(sh.diff.shadowBenefits, lang)}</b>{t("shadow.benefitsShadow")}</div>
          </div>
          {sh.diff.lastError && <div className="error">{t("shadow.lastError", { error: sh.diff.lastError })}</div>}
          <h3>{t("shadow.examples")}</h3>
          {!sh.diff.examples.edges.length ? <Empty>{t("shadow.noExamples")}</Empty> : (
            <table className="list" data-testid="shadow-examples">
              <thead><tr><th>{t("shadow.event")}</th><th>{t("campaign.member")}</th><th>{t("shadow.live")}</th><th>{t("shadow.shadow")}</th></tr></thead>
              <tbody>
                {sh.diff.examples.edges.map(({ node: x }) => (
                  <tr key={x.event.id}>
                    <td className="mono">{x.event.externalId}<div className="muted">{formatTime(x.event.occurredAt, undefined, lang)}</div></td>
                    <td>{x.member.name || x.member.externalRef}</td>
                    <td>{side(x.live)}</td>
                    <td>{side(x.shadow)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager pager={pager} hasNext={sh.diff.examples.pageInfo.hasNextPage} endCursor={sh.diff.examples.pageInfo.endCursor} />
        </>
      )}
      {act && sh && c && (
        <Confirm title={t(act === "PROMOTE" ? "shadow.promote" : "shadow.drop")} busy={promoteState.fetching || dropState.fetching}
          onCancel={() => setAct(null)} onConfirm={async () => {
            const res = act === "PROMOTE" ? await promote({ id: c.id }) : await drop({ id: c.id });
            setAct(null);
            reload();
            if (!res.error && act === "PROMOTE") onPromoted();
          }}>
          <p>{t(act === "PROMOTE" ? "shadow.confirmPromote" : "shadow.confirmDrop", { name })}</p>
        </Confirm>
      )}
    </div>
  );
}
