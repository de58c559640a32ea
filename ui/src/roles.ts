import { createContext, useContext } from "react";
import type { Role } from "./gql/graphql";

export type Viewer = { name: string; roles: Role[] };

export const ViewerContext = createContext<Viewer>({ name: "", roles: [] });

// useCan reports whether the signed-in key holds one of the roles.
export function useCan() {
  const v = useContext(ViewerContext);
  return (...roles: Role[]) => roles.some((r) => v.roles.includes(r));
}

// Who may use what in the console: the same as the API's authorisation table
// (docs/security.md), so the console hides what the server would refuse.
export const can = {
  readCampaigns: ["FRONTEND", "MARKETING", "ADMIN"] as Role[],
  manageCampaigns: ["MARKETING", "ADMIN"] as Role[],
  readMembers: ["FRONTEND", "MARKETING", "ADMIN"] as Role[],
  correctPoints: ["ADMIN"] as Role[],
  fulfilment: ["MARKETING", "ADMIN"] as Role[],
  readRewards: ["FRONTEND", "MARKETING", "ADMIN"] as Role[],
  manageRewards: ["MARKETING", "ADMIN"] as Role[],
  readPlugins: ["FRONTEND", "MARKETING", "ADMIN"] as Role[],
  restartPlugins: ["ADMIN"] as Role[],
  audit: ["ADMIN"] as Role[],
};
