import { useQuery } from "urql";
import { graphql } from "../gql";
import { useT } from "../i18n";
import { can } from "../roles";
import { Empty, ErrorBox, formatTime, Guard, Loading, Pager, usePager } from "../components/ui";

const AuditQuery = graphql(`
  query Audit($after: String) {
    auditLog(first: 20, after: $after) {
      edges { node { id at actor role operation outcome errorCode } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export function AuditPage() {
  return <Guard roles={can.audit}><Audit /></Guard>;
}

function Audit() {
  const { t, lang } = useT();
  const pager = usePager();
  const [{ data, fetching, error }] = useQuery({ query: AuditQuery, variables: { after: pager.after } });
  const edges = data?.auditLog.edges ?? [];
  return (
    <section>
      <h1>{t("audit.title")}</h1>
      <ErrorBox error={error} />
      {fetching && !data ? <Loading /> : edges.length === 0 ? <Empty>{t("audit.empty")}</Empty> : (
        <table className="list">
          <tbody>{edges.map(({ node: a }) => (
            <tr key={a.id}><td>{formatTime(a.at, undefined, lang)}</td><td className="mono">{a.actor}</td><td>{a.role}</td><td className="mono">{a.operation}</td><td>{a.outcome}{a.errorCode && <div className="muted">{a.errorCode}</div>}</td></tr>
          ))}</tbody>
        </table>
      )}
      <Pager pager={pager} hasNext={!!data?.auditLog.pageInfo.hasNextPage} endCursor={data?.auditLog.pageInfo.endCursor} />
    </section>
  );
}
