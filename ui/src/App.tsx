import { useEffect, useState } from "react";
import { BrowserRouter, NavLink, Navigate, Route, Routes } from "react-router-dom";
import { Provider, useQuery } from "urql";
import { client, setUnauthenticatedHandler, signIn, signOut } from "./api";
import { graphql } from "./gql";
import { initialLang, LangContext, useT, type Lang } from "./i18n";
import { can, useCan, ViewerContext, type Viewer } from "./roles";
import { Loading } from "./components/ui";
import { CampaignsPage } from "./pages/Campaigns";
import { CampaignPage } from "./pages/Campaign";
import { NewCampaignPage } from "./pages/NewCampaign";
import { MembersPage, MemberPage } from "./pages/Members";
import { FulfilmentPage } from "./pages/Fulfilment";
import { RewardsPage } from "./pages/Rewards";
import { PluginsPage } from "./pages/Plugins";
import { AuditPage } from "./pages/Audit";

const ViewerQuery = graphql(`
  query Viewer {
    viewer { kind roles apiKeyName }
  }
`);

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = (l: Lang) => {
    localStorage.setItem("promogate.lang", l);
    setLangState(l);
  };
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  return (
    <LangContext.Provider value={{ lang, setLang }}>
      <Provider value={client}>
        <BrowserRouter basename="/console">
          <Session />
        </BrowserRouter>
      </Provider>
    </LangContext.Provider>
  );
}

// Session asks the server who the session is; without one it shows the sign-in page.
function Session() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: ViewerQuery, requestPolicy: "network-only" });
  const [expired, setExpired] = useState(false);
  useEffect(() => setUnauthenticatedHandler(() => setExpired(true)), []);
  if (fetching && !data) return <Loading />;
  const v = data?.viewer;
  if (expired || error || !v || v.kind !== "API_KEY") {
    return <SignIn onSignedIn={() => { setExpired(false); refetch({ requestPolicy: "network-only" }); }} />;
  }
  const viewer: Viewer = { name: v.apiKeyName ?? "", roles: v.roles };
  return (
    <ViewerContext.Provider value={viewer}>
      <Layout onSignOut={async () => { await signOut(); setExpired(true); }} />
    </ViewerContext.Provider>
  );
}

function LangSwitch() {
  const { t, lang } = useT();
  return (
    <LangContext.Consumer>
      {({ setLang }) => (
        <label className="lang">
          <span className="visually-hidden">{t("lang.label")}</span>
          <select value={lang} onChange={(e) => setLang(e.target.value as Lang)} aria-label={t("lang.label")}>
            <option value="en">English</option>
            <option value="ru">Русский</option>
          </select>
        </label>
      )}
    </LangContext.Consumer>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useT();
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  return (
    <main className="signin">
      <form
        className="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          const res = await signIn(key.trim());
          setBusy(false);
          if (res.ok) {
            setKey("");
            onSignedIn();
          } else setError(res.status === 401 ? t("signin.bad") : res.message);
        }}
      >
        <div className="row spread"><h1>{t("signin.title")}</h1><LangSwitch /></div>
        <p>{t("signin.lead")}</p>
        <label>
          {t("signin.key")}
          <input name="key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} placeholder="pgk_…" required />
        </label>
        {error && <div className="error" role="alert">{error}</div>}
        <button className="primary" type="submit" disabled={busy || !key.trim()}>{busy ? t("signin.busy") : t("signin.submit")}</button>
        <p className="hint">{t("signin.hint")}</p>
      </form>
    </main>
  );
}

function Layout({ onSignOut }: { onSignOut: () => void }) {
  const { t } = useT();
  const allowed = useCan();
  const link = (to: string, label: string, show: boolean) =>
    show && <NavLink to={to} className={({ isActive }) => (isActive ? "active" : "")}>{label}</NavLink>;
  return (
    <ViewerContext.Consumer>
      {(v) => (
        <div className="shell">
          <aside className="sidebar">
            <div className="brand">Promogate</div>
            <nav>
              {link("/campaigns", t("nav.campaigns"), allowed(...can.readCampaigns))}
              {link("/new", t("nav.newCampaign"), allowed(...can.manageCampaigns))}
              {link("/members", t("nav.members"), allowed(...can.readMembers))}
              {link("/fulfilment", t("nav.fulfilment"), allowed(...can.fulfilment))}
              {link("/rewards", t("nav.rewards"), allowed(...can.readRewards))}
              {link("/plugins", t("nav.plugins"), allowed(...can.readPlugins))}
              {link("/audit", t("nav.audit"), allowed(...can.audit))}
            </nav>
          </aside>
          <div className="main">
            <header className="topbar">
              <span className="who" data-testid="who">{t("nav.signedInAs", { name: v.name })} · {v.roles.join(", ").toLowerCase()}</span>
              <LangSwitch />
              <button type="button" onClick={onSignOut}>{t("nav.signOut")}</button>
            </header>
            <main className="content">
              <Routes>
                <Route path="/" element={<Navigate to="/campaigns" replace />} />
                <Route path="/campaigns" element={<CampaignsPage />} />
                <Route path="/campaigns/:code" element={<CampaignPage />} />
                <Route path="/new" element={<NewCampaignPage />} />
                <Route path="/members" element={<MembersPage />} />
                <Route path="/members/:ref" element={<MemberPage />} />
                <Route path="/fulfilment" element={<FulfilmentPage />} />
                <Route path="/rewards" element={<RewardsPage />} />
                <Route path="/plugins" element={<PluginsPage />} />
                <Route path="/audit" element={<AuditPage />} />
                <Route path="*" element={<p>{t("common.notFound")}</p>} />
              </Routes>
            </main>
          </div>
        </div>
      )}
    </ViewerContext.Consumer>
  );
}
