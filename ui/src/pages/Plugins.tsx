import { Link } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can, useCan } from "../roles";
import { Empty, ErrorBox, formatTime, Guard, Loading, StatusBadge } from "../components/ui";

const PluginsQuery = graphql(`
  query Plugins {
    plugins { id name version checksum status registeredAt eventTypes health { state restarts consecutiveFailures lastError retryAt } campaigns { id code name status } }
  }
`);
const Reload = graphql(`mutation ReloadPlugin($name: String!, $version: String!) { reloadPlugin(name: $name, version: $version) { id health { state restarts lastError } } }`);

export function PluginsPage() {
  return <Guard roles={can.readPlugins}><Plugins /></Guard>;
}

function Plugins() {
  const { t, lang } = useT();
  const allowed = useCan();
  const [{ data, fetching, error }] = useQuery({ query: PluginsQuery });
  const [reloadState, reload] = useMutation(Reload);
  if (fetching && !data) return <Loading />;
  const plugins = data?.plugins ?? [];
  return (
    <section>
      <h1>{t("plugins.title")}</h1>
      <ErrorBox error={error || reloadState.error} />
      {plugins.length === 0 ? <Empty>{t("plugins.empty")}</Empty> : (
        <table className="list">
          <thead><tr><th>{t("campaigns.plugin")}</th><th>{t("plugins.checksum")}</th><th>{t("plugins.health")}</th><th>{t("plugins.restarts")}</th><th>{t("plugins.lastError")}</th><th>{t("plugins.campaigns")}</th><th /></tr></thead>
          <tbody>{plugins.map((p) => (
            <tr key={p.id}>
              <td><b>{p.name}</b> <span className="mono">{p.version}</span><div className="muted">{formatTime(p.registeredAt, undefined, lang)}</div></td>
              <td className="mono small" title={p.checksum}>{p.checksum.slice(0, 16)}…</td>
              <td><span className={"badge health-" + p.health.state.toLowerCase()}>{p.health.state}</span></td>
              <td className="num">{p.health.restarts}</td>
              <td className="small">{p.health.lastError ?? "—"}</td>
              <td>{p.campaigns.length ? p.campaigns.map((c) => <div key={c.id}><Link to={"/campaigns/" + encodeURIComponent(c.code)}>{c.name}</Link> <StatusBadge status={c.status} /></div>) : "—"}</td>
              <td>{allowed(...can.restartPlugins) && <button onClick={() => reload({ name: p.name, version: p.version })} disabled={reloadState.fetching}>{t("plugins.reload")}</button>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
