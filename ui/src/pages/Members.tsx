import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { newKey } from "../api";
import { graphql } from "../gql";
import { type Key, useT } from "../i18n";
import { can, useCan } from "../roles";
import { Confirm, Empty, ErrorBox, formatNumber, formatTime, Guard, Loading, Pager, usePager } from "../components/ui";

const MembersQuery = graphql(`
  query Members($search: String!, $after: String) {
    members(filter: { search: $search }, first: 20, after: $after) {
      edges { node { id externalRef name email phone region status } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const MemberQuery = graphql(`
  query Member($ref: String!, $txAfter: String, $evAfter: String, $bnAfter: String) {
    member(externalRef: $ref) {
      id externalRef name email phone region status createdAt
      balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }
      tiers { program { code } tier validUntil }
      benefits(first: 10, after: $bnAfter) {
        edges { node { id kind title percent quantity recipient code status validUntil fulfillmentStatus campaign { code name } } }
        pageInfo { hasNextPage endCursor }
      }
      transactions(first: 10, after: $txAfter) {
        edges { node { id kind points reason createdAt program { code } reversedBy { id } } }
        pageInfo { hasNextPage endCursor }
      }
      events(first: 10, after: $evAfter) {
        edges { node {
          id type source externalId occurredAt status lastError attributes
          outcome { reason campaigns { campaign { code name } status code reason effects { kind points detail } } waiting { campaign { code } error } }
        } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

// The chains behind the transactions of the page shown (same page arguments as MemberQuery),
// read when a "Why?" button is pressed (docs/explain.md).
const ExplanationsQuery = graphql(`
  query TransactionExplanations($ref: String!, $txAfter: String) {
    member(externalRef: $ref) {
      transactions(first: 10, after: $txAfter) {
        edges { node { id explanation {
          origin hook dueAt effectIndex
          event { type source externalId occurredAt }
          campaign { code name }
          plugin { name version checksum }
          enrollment { enrolledAt }
          outcome { status code reason decision { kind points detail } effects { kind points detail } }
        } } }
      }
    }
  }
`);

const AdjustPoints = graphql(`
  mutation AdjustPoints($memberId: ID!, $program: String!, $amount: Int!, $reason: String!, $key: String!) {
    adjustPoints(memberId: $memberId, program: $program, amount: $amount, reason: $reason, idempotencyKey: $key) { transaction { id points } balance { available } }
  }
`);
const ReverseTransaction = graphql(`
  mutation ReverseTransaction($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { transaction { id points } } }
`);

export function MembersPage() {
  return <Guard roles={can.readMembers}><Members /></Guard>;
}

function Members() {
  const { t } = useT();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const [text, setText] = useState(q);
  const pager = usePager();
  const navigate = useNavigate();
  const [{ data, fetching, error }] = useQuery({ query: MembersQuery, variables: { search: q, after: pager.after }, pause: q.length < 2 });
  const edges = data?.members.edges ?? [];
  return (
    <section>
      <h1>{t("members.title")}</h1>
      <p className="muted">{t("members.lead")}</p>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); setParams({ q: text.trim() }); pager.reset(); }}>
        <input type="search" name="q" value={text} onChange={(e) => setText(e.target.value)} placeholder={t("members.search")} aria-label={t("members.search")} autoFocus />
        <button type="submit">{t("common.search")}</button>
      </form>
      <ErrorBox error={error} />
      {q.length < 2 ? <Empty>{t("members.start")}</Empty> : fetching && !data ? <Loading /> : edges.length === 0 ? <Empty>{t("members.empty", { q })}</Empty> : (
        <table className="list">
          <tbody>
            {edges.map(({ node: m }) => (
              <tr key={m.id} className="clickable" onClick={() => navigate("/members/" + encodeURIComponent(m.externalRef))}>
                <td><Link to={"/members/" + encodeURIComponent(m.externalRef)} className="strong">{m.name || m.externalRef}</Link><div className="muted mono">{m.externalRef}</div></td>
                <td>{m.email}<div className="muted">{m.phone}</div></td>
                <td>{m.region}</td>
                <td>{m.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} hasNext={!!data?.members.pageInfo.hasNextPage} endCursor={data?.members.pageInfo.endCursor} />
    </section>
  );
}

export function MemberPage() {
  return <Guard roles={can.readMembers}><Member /></Guard>;
}

function Member() {
  const { ref = "" } = useParams();
  const { t, lang } = useT();
  const allowed = useCan();
  const tx = usePager(), ev = usePager(), bn = usePager();
  const [{ data, fetching, error }, refetch] = useQuery({ query: MemberQuery, variables: { ref, txAfter: tx.after, evAfter: ev.after, bnAfter: bn.after } });
  const [adjust, setAdjust] = useState({ program: "", amount: "", reason: "" });
  const [adjustState, runAdjust] = useMutation(AdjustPoints);
  const [reversing, setReversing] = useState<{ id: string; reason: string } | null>(null);
  const [reverseState, runReverse] = useMutation(ReverseTransaction);
  const [explaining, setExplaining] = useState<string | null>(null);
  if (fetching && !data) return <Loading />;
  if (error) return <ErrorBox error={error} />;
  const m = data?.member;
  if (!m) return <Empty>{t("members.empty", { q: ref })}</Empty>;
  const admin = allowed(...can.correctPoints);
  return (
    <section>
      <h1>{m.name || m.externalRef}</h1>
      <div className="muted"><span className="mono">{m.externalRef}</span> · {m.email} · {m.phone} · {m.region} · {m.status}</div>

      <div className="grid2 even">
        <div className="card">
          <h2>{t("member.balances")}</h2>
          {m.balances.length === 0 ? <Empty>{t("member.noBalances")}</Empty> : (
            <table className="list" data-testid="balances">
              <thead><tr><th>{t("member.programme")}</th><th>{t("member.available")}</th><th>{t("member.pending")}</th><th>{t("member.lifetime")}</th><th>{t("member.status")}</th></tr></thead>
              <tbody>{m.balances.map((b) => (
                <tr key={b.program.code}><td>{b.program.name}</td><td className="num">{formatNumber(b.available, lang)}</td><td className="num">{formatNumber(b.pending, lang)}</td><td className="num">{formatNumber(b.lifetimeEarned, lang)}</td><td className="num">{formatNumber(b.statusPoints, lang)}</td></tr>
              ))}</tbody>
            </table>
          )}
          {m.tiers.length > 0 && <><h3>{t("member.tiers")}</h3>{m.tiers.map((x) => <div key={x.program.code}><b>{x.tier}</b> <span className="muted">{x.program.code} · {formatTime(x.validUntil, undefined, lang)}</span></div>)}</>}
          {admin && (
            <form className="adjust" onSubmit={async (e) => {
              e.preventDefault();
              const res = await runAdjust({ memberId: m.id, program: adjust.program || m.balances[0]?.program.code || "", amount: Number(adjust.amount), reason: adjust.reason, key: newKey("adjust") });
              if (!res.error) { setAdjust({ program: adjust.program, amount: "", reason: "" }); refetch({ requestPolicy: "network-only" }); }
            }}>
              <h3>{t("member.adjust")}</h3>
              <div className="fields">
                <label>{t("member.programme")}<input name="adjust-program" value={adjust.program} placeholder={m.balances[0]?.program.code ?? "demo"} onChange={(e) => setAdjust({ ...adjust, program: e.target.value })} /></label>
                <label>{t("member.amount")}<input name="adjust-amount" type="number" value={adjust.amount} onChange={(e) => setAdjust({ ...adjust, amount: e.target.value })} required /></label>
                <label>{t("member.reason")}<input name="adjust-reason" value={adjust.reason} onChange={(e) => setAdjust({ ...adjust, reason: e.target.value })} required /></label>
              </div>
              <ErrorBox error={adjustState.error} />
              <button className="primary" type="submit" disabled={adjustState.fetching}>{t("member.adjust")}</button>
            </form>
          )}
        </div>
        <div className="card">
          <h2>{t("member.benefits")}</h2>
          {m.benefits.edges.length === 0 ? <Empty>{t("member.noBenefits")}</Empty> : (
            <table className="list"><tbody>{m.benefits.edges.map(({ node: b }) => (
              <tr key={b.id}>
                <td><b>{b.title || b.kind}</b><div className="muted">{b.campaign.name}</div></td>
                <td>{b.kind}{b.percent ? ` ${b.percent}%` : ""}{b.quantity ? ` ×${b.quantity}` : ""}{b.code ? <div className="mono">{b.code}</div> : null}</td>
                <td>{b.status}{b.fulfillmentStatus && <div className="muted">{b.fulfillmentStatus}</div>}</td>
                <td>{b.validUntil ? formatTime(b.validUntil, undefined, lang) : ""}</td>
              </tr>
            ))}</tbody></table>
          )}
          <Pager pager={bn} hasNext={m.benefits.pageInfo.hasNextPage} endCursor={m.benefits.pageInfo.endCursor} />
        </div>
      </div>

      <div className="card">
        <h2>{t("member.events")}</h2>
        {m.events.edges.length === 0 ? <Empty>{t("member.noEvents")}</Empty> : (
          <table className="list" data-testid="events">
            <tbody>{m.events.edges.map(({ node: e }) => (
              <tr key={e.id}>
                <td><b className="mono">{e.type}</b><div className="muted">{formatTime(e.occurredAt, undefined, lang)}</div><div className="muted mono">{e.source}/{e.externalId}</div></td>
                <td className="mono small">{JSON.stringify(e.attributes)}</td>
                <td>
                  {e.outcome?.campaigns.map((o, i) => (
                    <div key={i} className={"outcome " + o.status.toLowerCase()}>
                      <b>{o.campaign.name}</b>: {o.status}
                      {o.effects.map((f, k) => <span key={k} className="mono"> {f.kind}{f.points ? ` ${f.points > 0 ? "+" : ""}${f.points}` : ""}</span>)}
                      {(o.reason || o.code) && <div className="why">{t("member.why")}: {o.code ? o.code + " — " : ""}{o.reason}</div>}
                    </div>
                  ))}
                  {e.outcome?.waiting.map((w, i) => <div key={"w" + i} className="outcome waiting">{w.campaign.code}: waiting — {w.error}</div>)}
                  {e.outcome?.reason && <div className="why">{t("member.why")}: {e.outcome.reason}</div>}
                  {!e.outcome && <span className="muted">{e.status} {e.lastError}</span>}
                </td>
              </tr>
            ))}</tbody>
          </table>
        )}
        <Pager pager={ev} hasNext={m.events.pageInfo.hasNextPage} endCursor={m.events.pageInfo.endCursor} />
      </div>

      <div className="card">
        <h2>{t("member.history")}</h2>
        {m.transactions.edges.length === 0 ? <Empty>{t("member.noHistory")}</Empty> : (
          <table className="list"><tbody>{m.transactions.edges.map(({ node: x }) => (
            <tr key={x.id}>
              <td>{formatTime(x.createdAt, undefined, lang)}</td>
              <td>{x.kind}<div className="muted">{x.program.code}</div></td>
              <td className={"num " + (x.points < 0 ? "bad" : "good")}>{x.points > 0 ? "+" : ""}{formatNumber(x.points, lang)}</td>
              <td>{x.reason}</td>
              <td><button onClick={() => setExplaining(explaining === x.id ? null : x.id)} aria-expanded={explaining === x.id}>{t("explain.why")}</button></td>
              <td>{x.reversedBy ? <span className="muted">{t("member.reversed")}</span> : admin && x.kind !== "REVERSE" && x.kind !== "EXPIRE" && <button onClick={() => setReversing({ id: x.id, reason: "" })}>{t("member.reverse")}</button>}</td>
            </tr>
          ))}</tbody></table>
        )}
        <Pager pager={tx} hasNext={m.transactions.pageInfo.hasNextPage} endCursor={m.transactions.pageInfo.endCursor} />
        {explaining && <Explanation memberRef={ref} txAfter={tx.after} id={explaining} onClose={() => setExplaining(null)} />}
        {reversing && (
          <Confirm title={t("member.reverse")} busy={reverseState.fetching} onCancel={() => setReversing(null)} onConfirm={async () => {
            const res = await runReverse({ id: reversing.id, reason: reversing.reason });
            if (!res.error) { setReversing(null); refetch({ requestPolicy: "network-only" }); }
          }}>
            <label>{t("member.reverseReason")}<input value={reversing.reason} onChange={(e) => setReversing({ ...reversing, reason: e.target.value })} /></label>
            <ErrorBox error={reverseState.error} />
          </Confirm>
        )}
      </div>
    </section>
  );
}

// Explanation shows the chain behind one transaction: event, campaign, the plugin version that
// decided with its checksum, the decision, and what the core applied or refused.
function Explanation({ memberRef, txAfter, id, onClose }: { memberRef: string; txAfter: string | null; id: string; onClose: () => void }) {
  const { t, lang } = useT();
  const [{ data, fetching, error }] = useQuery({ query: ExplanationsQuery, variables: { ref: memberRef, txAfter } });
  if (fetching && !data) return <Loading />;
  if (error) return <ErrorBox error={error} />;
  const x = data?.member?.transactions.edges.find((e) => e.node.id === id)?.node.explanation;
  if (!x) return null;
  const o = x.outcome;
  const effect = (f: { kind: string; points?: number | null; detail?: string | null }) =>
    <><span className="mono">{f.kind}</span>{f.points ? <span className="mono"> {f.points > 0 ? "+" : ""}{formatNumber(f.points, lang)}</span> : null}{f.detail ? <span> — {f.detail}</span> : null}</>;
  return (
    <div className="card explanation" data-testid="explanation">
      <h3>{t("explain.title")} <span className="badge">{x.origin}</span></h3>
      <p className="muted">{t(("explain.origin." + x.origin) as Key)}</p>
      <ol className="chain">
        {x.event && <li><b>{t("explain.event")}</b> <span className="mono">{x.event.type}</span> · <span className="mono">{x.event.source}/{x.event.externalId}</span> · {formatTime(x.event.occurredAt, undefined, lang)}</li>}
        {x.enrollment && <li><b>{t("explain.enrollment")}</b> {formatTime(x.enrollment.enrolledAt, undefined, lang)}</li>}
        {x.hook && <li><b>{t("explain.hook")}</b> <span className="mono">{x.hook}</span> · {formatTime(x.dueAt, undefined, lang)}</li>}
        {x.campaign && <li><b>{t("explain.campaign")}</b> {x.campaign.name} <span className="muted mono">{x.campaign.code}</span></li>}
        {x.plugin && <li><b>{t("explain.plugin")}</b> <span className="mono">{x.plugin.name} {x.plugin.version}</span><div className="muted mono small" title="SHA-256">sha256 {x.plugin.checksum ?? "—"}</div></li>}
        {o && <li><b>{t("explain.decision")}</b> <span className={"outcome " + o.status.toLowerCase()}>{o.status}</span>
          {o.decision ? <ul>{o.decision.map((f, i) => <li key={i}>{effect(f)}</li>)}</ul> : <div className="muted">{t("explain.noDecision")}</div>}
          {(o.code || o.reason) && <div className="why">{t("member.why")}: {o.code ? o.code + " — " : ""}{o.reason}</div>}
        </li>}
        {o && <li><b>{t("explain.applied")}</b>
          {o.effects.length === 0 ? <div className="muted">{t("explain.nothingApplied")}</div> :
            <ul>{o.effects.map((f, i) => <li key={i} className={i === x.effectIndex ? "this" : ""}>{effect(f)}{i === x.effectIndex && <b> ← {t("explain.thisTransaction")}</b>}</li>)}</ul>}
        </li>}
      </ol>
      <button onClick={onClose}>{t("explain.close")}</button>
    </div>
  );
}
