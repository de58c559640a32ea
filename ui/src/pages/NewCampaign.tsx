import { useMemo, useState } from "react";
import { useNavigate } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { errorCode, fieldErrors, type FieldError } from "../api";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can } from "../roles";
import { ConfigForm } from "../components/ConfigForm";
import { Confirm, Empty, ErrorBox, Guard, Loading } from "../components/ui";

const NewCampaignQuery = graphql(`
  query NewCampaign {
    programs { code name }
    plugins { id name version status eventTypes configSchema defaultConfig health { state } }
    members(first: 1) { edges { node { externalRef } } }
  }
`);

const CreateCampaign = graphql(`
  mutation CreateCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id code status config } }
`);
const UpdateDraft = graphql(`
  mutation UpdateDraftConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config } }
`);
const Simulate = graphql(`
  mutation SimulateCampaign($id: ID!, $events: [EventInput!]!) {
    simulateCampaign(id: $id, events: $events) { effects { kind payload } noEffectReason problem }
  }
`);
const Activate = graphql(`mutation ActivateNewCampaign($id: ID!) { activateCampaign(id: $id) { id code status } }`);

type Plugin = { name: string; version: string; eventTypes: string[]; configSchema?: unknown; defaultConfig?: unknown; status: string };
type SampleEvent = { type: string; memberRef: string; occurredAt: string; attributes: string };

// zones lists the IANA time zones the browser knows, for the picker.
function zones(): string[] {
  const list = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return list.includes("UTC") ? list : ["UTC", ...list];
}

// localInput formats a Date for <input type="datetime-local">.
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// zonedISO reads a wall-clock "YYYY-MM-DDTHH:MM" in an IANA zone as an RFC 3339 instant.
export function zonedISO(local: string, zone: string): string {
  const [date, time] = local.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = (time ?? "00:00").split(":").map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const offset = (at: number) => {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(at));
    const v = (k: string) => Number(parts.find((p) => p.type === k)?.value);
    return Date.UTC(v("year"), v("month") - 1, v("day"), v("hour"), v("minute"), v("second")) - at;
  };
  const at = guess - offset(guess - offset(guess));
  return new Date(at).toISOString().replace(".000Z", "Z");
}

// sampleEvents proposes events for the plugin's first event type: a Saturday and a Monday.
function sampleEvents(p: Plugin, memberRef: string): SampleEvent[] {
  const type = p.eventTypes[0] ?? "purchase";
  const now = new Date();
  const sat = new Date(now);
  sat.setDate(now.getDate() - ((now.getDay() + 1) % 7));
  sat.setHours(12, 0, 0, 0);
  const mon = new Date(sat);
  mon.setDate(sat.getDate() + 2);
  return [sat, mon].map((d) => ({ type, memberRef, occurredAt: localInput(d), attributes: JSON.stringify({ amount: 1000 }) }));
}

export function NewCampaignPage() {
  return <Guard roles={can.manageCampaigns}><NewCampaign /></Guard>;
}

function NewCampaign() {
  const { t } = useT();
  const navigate = useNavigate();
  const [{ data, fetching, error }] = useQuery({ query: NewCampaignQuery });
  const [plugin, setPlugin] = useState<Plugin | null>(null);
  const [form, setForm] = useState({ code: "", name: "", program: "", timeZone: "UTC", startsAt: localInput(new Date()), endsAt: "" });
  const [config, setConfig] = useState<unknown>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [draft, setDraft] = useState<{ id: string; code: string; config: unknown } | null>(null);
  const [events, setEvents] = useState<SampleEvent[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [createState, create] = useMutation(CreateCampaign);
  const [updateState, updateDraft] = useMutation(UpdateDraft);
  const [simState, simulate] = useMutation(Simulate);
  const [actState, activate] = useMutation(Activate);
  const tz = useMemo(zones, []);
  if (fetching && !data) return <Loading />;
  if (error) return <ErrorBox error={error} />;
  const plugins = (data?.plugins ?? []).filter((p) => p.status === "ACTIVE");
  const memberRef = data?.members.edges[0]?.node.externalRef ?? "";

  const choose = (p: Plugin) => {
    setPlugin(p);
    setConfig(p.defaultConfig ?? {});
    setErrors([]);
    setDraft(null);
    setEvents(sampleEvents(p, memberRef));
    setForm((f) => ({ ...f, program: f.program || data?.programs[0]?.code || "" }));
  };

  const save = async () => {
    setErrors([]);
    const res = draft
      ? await updateDraft({ id: draft.id, config })
      : await create({ input: {
          code: form.code.trim(), name: form.name.trim(), program: form.program, plugin: plugin!.name, pluginVersion: plugin!.version,
          config, timeZone: form.timeZone, startsAt: zonedISO(form.startsAt, form.timeZone), endsAt: form.endsAt ? zonedISO(form.endsAt, form.timeZone) : null,
        } });
    if (res.error) {
      if (errorCode(res.error) === "INVALID_CONFIG") setErrors(fieldErrors(res.error));
      return;
    }
    if (!draft && res.data && "createCampaign" in res.data) {
      const c = res.data.createCampaign;
      setDraft({ id: c.id, code: c.code, config: c.config });
    } else if (draft) setDraft({ ...draft, config });
  };

  const runSimulation = () => {
    if (!draft) return;
    simulate({ id: draft.id, events: events.map((e, i) => ({
      type: e.type, memberRef: e.memberRef, occurredAt: zonedISO(e.occurredAt, form.timeZone), source: "console-simulation", externalId: `sim-${i}`,
      attributes: e.attributes.trim() ? JSON.parse(e.attributes) : {},
    })) });
  };
  const saveError = createState.error || updateState.error;
  const saving = createState.fetching || updateState.fetching;

  return (
    <section className="wizard">
      <h1>{t("new.title")}</h1>
      <div className="card">
        <h2>{t("new.pickPlugin")}</h2>
        {plugins.length === 0 ? <Empty>{t("new.noPlugins")}</Empty> : (
          <div className="plugin-cards">
            {plugins.map((p) => {
              const s = (p.configSchema ?? {}) as { title?: string; description?: string };
              const selected = plugin?.name === p.name && plugin.version === p.version;
              return (
                <button type="button" key={p.id} className={"plugin-card" + (selected ? " selected" : "")} onClick={() => choose(p)} disabled={!!draft} data-plugin={p.name}>
                  <b>{p.name}</b> <span className="mono">{p.version}</span>
                  {s.title && <div>{s.title}</div>}
                  {s.description && <div className="muted">{s.description}</div>}
                  <div className="muted">{t("new.eventTypes", { types: p.eventTypes.join(", ") || "—" })}</div>
                </button>
              );
            })}
          </div>
        )}
      </div>

      {plugin && (
        <form className="card" onSubmit={(e) => { e.preventDefault(); save(); }} noValidate>
          <h2>{t("new.details")}</h2>
          <div className="fields">
            <label>{t("new.code")}<input name="code" value={form.code} onChange={(e) => setForm({ ...form, code: e.target.value })} disabled={!!draft} required pattern="[a-z0-9][a-z0-9_-]*" /><small>{t("new.codeHelp")}</small></label>
            <label>{t("new.name")}<input name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} disabled={!!draft} required /></label>
            <label>{t("new.programme")}
              <select name="program" value={form.program} onChange={(e) => setForm({ ...form, program: e.target.value })} disabled={!!draft}>
                {data?.programs.map((p) => <option key={p.code} value={p.code}>{p.name} ({p.code})</option>)}
              </select>
            </label>
            <label>{t("new.timeZone")}
              <input name="timeZone" list="zones" value={form.timeZone} onChange={(e) => setForm({ ...form, timeZone: e.target.value })} disabled={!!draft} />
              <datalist id="zones">{tz.map((z) => <option key={z} value={z} />)}</datalist>
              <small>{t("new.timeZoneHelp")}</small>
            </label>
            <label>{t("new.starts")}<input name="startsAt" type="datetime-local" value={form.startsAt} onChange={(e) => setForm({ ...form, startsAt: e.target.value })} disabled={!!draft} /></label>
            <label>{t("new.ends")}<input name="endsAt" type="datetime-local" value={form.endsAt} onChange={(e) => setForm({ ...form, endsAt: e.target.value })} disabled={!!draft} /></label>
          </div>
          <h2>{t("new.config")}</h2>
          <ConfigForm id="config" schema={plugin.configSchema} value={config} onChange={setConfig} errors={errors} />
          {errors.length > 0 && <div className="error" role="alert" data-testid="field-errors">{t("new.fieldErrors")}</div>}
          {errors.length === 0 && <ErrorBox error={saveError} />}
          {draft && !saving && !saveError && <div className="ok" role="status">{t("new.saved", { code: draft.code })}</div>}
          <div className="actions">
            <button className="primary" type="submit" disabled={saving}>{saving ? t("new.saving") : draft ? t("new.saveChanges") : t("new.saveDraft")}</button>
          </div>
        </form>
      )}

      {draft && (
        <div className="card">
          <h2>{t("new.simulate")}</h2>
          <p className="muted">{t("new.simulateLead")}</p>
          <table className="list events">
            <thead><tr><th>{t("new.eventType")}</th><th>{t("new.memberRef")}</th><th>{t("new.occurredAt")}</th><th>{t("new.attributes")}</th><th>{t("new.decision")}</th></tr></thead>
            <tbody>
              {events.map((e, i) => {
                const d = simState.data?.simulateCampaign[i];
                const set = (k: keyof SampleEvent, v: string) => setEvents(events.map((x, j) => (j === i ? { ...x, [k]: v } : x)));
                return (
                  <tr key={i} data-testid={"sample-" + i}>
                    <td><input value={e.type} onChange={(x) => set("type", x.target.value)} aria-label={t("new.eventType")} /></td>
                    <td><input value={e.memberRef} onChange={(x) => set("memberRef", x.target.value)} aria-label={t("new.memberRef")} /></td>
                    <td><input type="datetime-local" value={e.occurredAt} onChange={(x) => set("occurredAt", x.target.value)} aria-label={t("new.occurredAt")} /></td>
                    <td><input className="mono" value={e.attributes} onChange={(x) => set("attributes", x.target.value)} aria-label={t("new.attributes")} /></td>
                    <td className="decision" data-testid={"decision-" + i}>
                      {d && (d.problem ? <span className="bad">{t("new.problem", { problem: d.problem })}</span>
                        : d.effects.length ? d.effects.map((f, k) => <div key={k} className="mono">{f.kind} {JSON.stringify(f.payload)}</div>)
                        : <span className="muted">{t("new.noEffect", { reason: d.noEffectReason ?? "" })}</span>)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <ErrorBox error={simState.error} />
          <div className="actions">
            <button type="button" onClick={() => setEvents([...events, { ...(events[events.length - 1] ?? sampleEvents(plugin!, memberRef)[0]) }])}>{t("new.addEvent")}</button>
            <button type="button" className="primary" onClick={runSimulation} disabled={simState.fetching}>{simState.fetching ? t("new.running") : t("new.run")}</button>
          </div>
        </div>
      )}

      {draft && (
        <div className="card">
          <h2>{t("new.activate")}</h2>
          <p className="muted">{t("new.activateLead")}</p>
          <ErrorBox error={actState.error} />
          <button type="button" className="primary" onClick={() => setConfirming(true)}>{t("campaign.activate")}</button>
          {confirming && (
            <Confirm title={t("campaign.activate")} busy={actState.fetching} onCancel={() => setConfirming(false)} onConfirm={async () => {
              const res = await activate({ id: draft.id });
              setConfirming(false);
              if (!res.error) navigate("/campaigns/" + encodeURIComponent(draft.code));
            }}>
              <p>{t("campaign.confirmActivate", { name: form.name })}</p>
            </Confirm>
          )}
        </div>
      )}
    </section>
  );
}
