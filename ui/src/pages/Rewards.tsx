import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can, useCan } from "../roles";
import { Empty, ErrorBox, formatNumber, Guard, Loading, Pager, usePager } from "../components/ui";

const RewardsQuery = graphql(`
  query Rewards($program: String, $after: String) {
    programs { code name }
    rewards(filter: { program: $program }, first: 20, after: $after) {
      edges { node { id code title category price regions stock codePool codesAvailable active validity program { code } campaign { code } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const CreateReward = graphql(`mutation CreateReward($input: CreateRewardInput!) { createReward(input: $input) { id } }`);
const UpdateReward = graphql(`mutation UpdateReward($id: ID!, $input: UpdateRewardInput!) { updateReward(id: $id, input: $input) { id title price stock regions active } }`);
const ImportCodes = graphql(`mutation ImportRewardCodes($id: ID!, $codes: [String!]!) { importRewardCodes(rewardId: $id, codes: $codes) { imported duplicates reward { id codesAvailable } } }`);

// parseCodes reads promo codes from a CSV file: the first column of every line, a header
// line named "code" skipped.
export function parseCodes(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.split(",")[0].trim().replace(/^"|"$/g, "")).filter((c, i) => c && !(i === 0 && c.toLowerCase() === "code"));
}

const regionsOf = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

export function RewardsPage() {
  return <Guard roles={can.readRewards}><Rewards /></Guard>;
}

function Rewards() {
  const { t, lang } = useT();
  const allowed = useCan();
  const manage = allowed(...can.manageRewards);
  const [program, setProgram] = useState("");
  const pager = usePager();
  const [{ data, fetching, error }, refetch] = useQuery({ query: RewardsQuery, variables: { program: program || null, after: pager.after } });
  const [creating, setCreating] = useState(false);
  const [draft, setDraft] = useState({ program: "", code: "", title: "", category: "", price: "100", stock: "", regions: "", codePool: false });
  const [createState, create] = useMutation(CreateReward);
  const [editing, setEditing] = useState<{ id: string; title: string; price: string; stock: string; regions: string; active: boolean } | null>(null);
  const [updateState, update] = useMutation(UpdateReward);
  const [importState, importCodes] = useMutation(ImportCodes);
  const [importResult, setImportResult] = useState("");
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const edges = data?.rewards.edges ?? [];

  const upload = async (id: string, file: File) => {
    const codes = parseCodes(await file.text());
    let added = 0, skipped = 0;
    setProgress({ done: 0, total: codes.length });
    for (let i = 0; i < codes.length; i += 1000) {
      const res = await importCodes({ id, codes: codes.slice(i, i + 1000) });
      if (res.error) break;
      added += res.data!.importRewardCodes.imported;
      skipped += res.data!.importRewardCodes.duplicates.length;
      setProgress({ done: Math.min(i + 1000, codes.length), total: codes.length });
    }
    setProgress(null);
    setImportResult(t("rewards.imported", { added, skipped }));
    refetch({ requestPolicy: "network-only" });
  };

  return (
    <section>
      <div className="row spread">
        <h1>{t("rewards.title")}</h1>
        {manage && <button className="primary" onClick={() => setCreating(!creating)}>{t("rewards.new")}</button>}
      </div>
      <div className="filters">
        <label>{t("campaigns.program")}
          <select value={program} onChange={(e) => { setProgram(e.target.value); pager.reset(); }}>
            <option value="">{t("common.all")}</option>
            {data?.programs.map((p) => <option key={p.code} value={p.code}>{p.name}</option>)}
          </select>
        </label>
      </div>
      {creating && (
        <form className="card" data-testid="new-reward" onSubmit={async (e) => {
          e.preventDefault();
          const res = await create({ input: { program: draft.program || data?.programs[0]?.code || "", code: draft.code, title: draft.title, category: draft.category,
            price: Number(draft.price), stock: draft.stock === "" ? null : Number(draft.stock), regions: regionsOf(draft.regions), codePool: draft.codePool } });
          if (!res.error) { setCreating(false); refetch({ requestPolicy: "network-only" }); }
        }}>
          <div className="fields">
            <label>{t("campaigns.program")}<select value={draft.program} onChange={(e) => setDraft({ ...draft, program: e.target.value })}>{data?.programs.map((p) => <option key={p.code} value={p.code}>{p.name}</option>)}</select></label>
            <label>{t("rewards.code")}<input value={draft.code} onChange={(e) => setDraft({ ...draft, code: e.target.value })} required /></label>
            <label>{t("rewards.titleField")}<input value={draft.title} onChange={(e) => setDraft({ ...draft, title: e.target.value })} required /></label>
            <label>{t("rewards.category")}<input value={draft.category} onChange={(e) => setDraft({ ...draft, category: e.target.value })} required /></label>
            <label>{t("rewards.price")}<input type="number" value={draft.price} onChange={(e) => setDraft({ ...draft, price: e.target.value })} /></label>
            <label>{t("rewards.stock")}<input type="number" value={draft.stock} placeholder={t("rewards.unlimited")} onChange={(e) => setDraft({ ...draft, stock: e.target.value })} /></label>
            <label>{t("rewards.regions")}<input value={draft.regions} placeholder={t("rewards.everywhere")} onChange={(e) => setDraft({ ...draft, regions: e.target.value })} /></label>
            <label className="check"><input type="checkbox" checked={draft.codePool} onChange={(e) => setDraft({ ...draft, codePool: e.target.checked })} />{t("rewards.codePool")}</label>
          </div>
          <ErrorBox error={createState.error} />
          <button className="primary" type="submit" disabled={createState.fetching}>{t("common.save")}</button>
        </form>
      )}
      <ErrorBox error={error || updateState.error || importState.error} />
      {progress && <div className="progress" role="progressbar" aria-valuenow={progress.done} aria-valuemax={progress.total}><div style={{ width: `${(100 * progress.done) / Math.max(1, progress.total)}%` }} />{progress.done} / {progress.total}</div>}
      {importResult && <div className="ok" role="status">{importResult}</div>}
      {fetching && !data ? <Loading /> : edges.length === 0 ? <Empty>{t("rewards.empty")}</Empty> : (
        <table className="list">
          <thead><tr><th>{t("rewards.titleField")}</th><th>{t("rewards.category")}</th><th>{t("rewards.price")}</th><th>{t("rewards.stock")}</th><th>{t("rewards.regions")}</th><th>{t("rewards.active")}</th><th /></tr></thead>
          <tbody>{edges.map(({ node: r }) => editing?.id === r.id ? (
            <tr key={r.id}>
              <td><input value={editing.title} onChange={(e) => setEditing({ ...editing, title: e.target.value })} /></td>
              <td>{r.category}</td>
              <td><input type="number" value={editing.price} onChange={(e) => setEditing({ ...editing, price: e.target.value })} /></td>
              <td><input type="number" value={editing.stock} placeholder={t("rewards.unlimited")} onChange={(e) => setEditing({ ...editing, stock: e.target.value })} /></td>
              <td><input value={editing.regions} placeholder={t("rewards.everywhere")} onChange={(e) => setEditing({ ...editing, regions: e.target.value })} /></td>
              <td><input type="checkbox" checked={editing.active} onChange={(e) => setEditing({ ...editing, active: e.target.checked })} /></td>
              <td><button className="primary" onClick={async () => {
                const res = await update({ id: r.id, input: { title: editing.title, price: Number(editing.price), regions: regionsOf(editing.regions), active: editing.active,
                  ...(editing.stock === "" ? { unlimitedStock: true } : { stock: Number(editing.stock) }) } });
                if (!res.error) { setEditing(null); refetch({ requestPolicy: "network-only" }); }
              }}>{t("common.save")}</button> <button onClick={() => setEditing(null)}>{t("common.cancel")}</button></td>
            </tr>
          ) : (
            <tr key={r.id}>
              <td><b>{r.title}</b><div className="muted mono">{r.program.code} / {r.code}</div></td>
              <td>{r.category}</td>
              <td className="num">{formatNumber(r.price, lang)}</td>
              <td className="num">{r.stock == null ? t("rewards.unlimited") : formatNumber(r.stock, lang)}{r.codePool && <div className="muted">{t("rewards.codes")}: {r.codesAvailable}</div>}</td>
              <td>{r.regions.length ? r.regions.join(", ") : t("rewards.everywhere")}</td>
              <td>{r.active ? "✓" : "—"}</td>
              <td>{manage && <>
                <button onClick={() => setEditing({ id: r.id, title: r.title, price: String(r.price), stock: r.stock == null ? "" : String(r.stock), regions: r.regions.join(", "), active: r.active })}>{t("rewards.edit")}</button>
                {r.codePool && <label className="button">{t("rewards.import")}<input type="file" accept=".csv,text/csv,text/plain" hidden onChange={(e) => e.target.files?.[0] && upload(r.id, e.target.files[0])} /></label>}
              </>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      <Pager pager={pager} hasNext={!!data?.rewards.pageInfo.hasNextPage} endCursor={data?.rewards.pageInfo.endCursor} />
    </section>
  );
}
