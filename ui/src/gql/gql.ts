/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Viewer {\n    viewer { kind roles apiKeyName }\n  }\n": typeof types.ViewerDocument,
    "\n  query Backtests($campaign: ID!) {\n    backtests(campaign: $campaign, first: 1) {\n      id status progress simulatedTo eventsTotal eventsDone error from to createdAt finishedAt cost\n      totals { eventsEvaluated enrollmentsReplayed enrollmentsAccepted hookRuns pointsIssued pointsDebited benefitsGranted membersReached refused }\n      days { date eventsEvaluated pointsIssued benefitsGranted membersReached }\n    }\n  }\n": typeof types.BacktestsDocument,
    "\n  mutation StartBacktest($input: StartBacktestInput!) { startBacktest(input: $input) { id status } }\n": typeof types.StartBacktestDocument,
    "\n  mutation CancelBacktest($id: ID!) { cancelBacktest(id: $id) { id status } }\n": typeof types.CancelBacktestDocument,
    "\n  query CampaignShadow($code: String!, $after: String) {\n    campaign(code: $code) {\n      id\n      shadow {\n        plugin pluginVersion config status attachedAt attachedBy\n        health { state consecutiveFailures }\n        diff {\n          events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits membersAffected lastError\n          examples(first: 10, after: $after) {\n            edges { node {\n              event { id externalId occurredAt }\n              member { externalRef name }\n              live { points effects { kind } noEffectReason error }\n              shadow { points effects { kind } noEffectReason error }\n            } }\n            pageInfo { hasNextPage endCursor }\n          }\n        }\n      }\n    }\n    plugins { name version }\n  }\n": typeof types.CampaignShadowDocument,
    "\n  mutation AttachShadow($input: AttachShadowInput!) { attachShadow(input: $input) { status } }\n": typeof types.AttachShadowDocument,
    "\n  mutation PromoteShadow($id: ID!) { promoteShadow(campaignId: $id) { status campaign { id pluginVersion config updatedAt } } }\n": typeof types.PromoteShadowDocument,
    "\n  mutation DropShadow($id: ID!) { dropShadow(campaignId: $id) { status } }\n": typeof types.DropShadowDocument,
    "\n  query Audit($after: String) {\n    auditLog(first: 20, after: $after) {\n      edges { node { id at actor role operation outcome errorCode } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.AuditDocument,
    "\n  query Campaign($code: String!, $from: Date, $to: Date) {\n    campaign(code: $code) {\n      id code name status timeZone startsAt endsAt pluginName pluginVersion config updatedAt\n      program { code name }\n      plugin { configSchema schedules { name spec } eventTypes }\n      figures(from: $from, to: $to) {\n        from to\n        days { date applied noEffect waiting refused pointsIssued }\n        total { applied noEffect waiting refused pointsIssued }\n        noEffectReasons { reason count }\n      }\n    }\n  }\n": typeof types.CampaignDocument,
    "\n  query Participants($code: String!, $search: String, $after: String) {\n    campaign(code: $code) {\n      id\n      participants(search: $search, first: 20, after: $after) {\n        edges { node { id registeredBy responsible enrolledAt member { externalRef name email } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.ParticipantsDocument,
    "mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status updatedAt } }": typeof types.ActivateCampaignDocument,
    "mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status updatedAt } }": typeof types.PauseCampaignDocument,
    "mutation EndCampaign($id: ID!) { endCampaign(id: $id) { id status updatedAt } }": typeof types.EndCampaignDocument,
    "\n  mutation UpdateCampaignConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config updatedAt } }\n": typeof types.UpdateCampaignConfigDocument,
    "\n  query Campaigns($filter: CampaignFilter, $after: String) {\n    programs { code name }\n    campaigns(filter: $filter, first: 20, after: $after) {\n      edges { node { id code name status pluginName pluginVersion timeZone startsAt endsAt program { code name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.CampaignsDocument,
    "\n  query FulfilmentCampaigns {\n    campaigns(first: 100) { edges { node { id code name pluginName } } }\n  }\n": typeof types.FulfilmentCampaignsDocument,
    "\n  query Fulfilment($code: String!, $month: String!) {\n    campaign(code: $code) {\n      id name\n      fulfillment(month: $month) {\n        id key title recipient fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote createdAt\n        member { externalRef name }\n      }\n    }\n  }\n": typeof types.FulfilmentDocument,
    "\n  mutation SetFulfillmentStatus($input: SetFulfillmentStatusInput!) {\n    setFulfillmentStatus(input: $input) { benefit { id fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote } }\n  }\n": typeof types.SetFulfillmentStatusDocument,
    "\n  query Members($search: String!, $after: String) {\n    members(filter: { search: $search }, first: 20, after: $after) {\n      edges { node { id externalRef name email phone region status } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.MembersDocument,
    "\n  query Member($ref: String!, $txAfter: String, $evAfter: String, $bnAfter: String) {\n    member(externalRef: $ref) {\n      id externalRef name email phone region status createdAt\n      balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }\n      tiers { program { code } tier validUntil }\n      benefits(first: 10, after: $bnAfter) {\n        edges { node { id kind title percent quantity recipient code status validUntil fulfillmentStatus campaign { code name } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id kind points reason createdAt program { code } reversedBy { id } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      events(first: 10, after: $evAfter) {\n        edges { node {\n          id type source externalId occurredAt status lastError attributes\n          outcome { reason campaigns { campaign { code name } status code reason effects { kind points detail } } waiting { campaign { code } error } }\n        } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.MemberDocument,
    "\n  query TransactionExplanations($ref: String!, $txAfter: String) {\n    member(externalRef: $ref) {\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id explanation {\n          origin hook dueAt effectIndex\n          event { type source externalId occurredAt }\n          campaign { code name }\n          plugin { name version checksum }\n          enrollment { enrolledAt }\n          outcome { status code reason decision { kind points detail } effects { kind points detail } }\n        } } }\n      }\n    }\n  }\n": typeof types.TransactionExplanationsDocument,
    "\n  mutation AdjustPoints($memberId: ID!, $program: String!, $amount: Int!, $reason: String!, $key: String!) {\n    adjustPoints(memberId: $memberId, program: $program, amount: $amount, reason: $reason, idempotencyKey: $key) { transaction { id points } balance { available } }\n  }\n": typeof types.AdjustPointsDocument,
    "\n  mutation ReverseTransaction($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { transaction { id points } } }\n": typeof types.ReverseTransactionDocument,
    "\n  query NewCampaign {\n    programs { code name }\n    plugins { id name version status eventTypes configSchema defaultConfig health { state } }\n    members(first: 1) { edges { node { externalRef } } }\n  }\n": typeof types.NewCampaignDocument,
    "\n  mutation CreateCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id code status config } }\n": typeof types.CreateCampaignDocument,
    "\n  mutation UpdateDraftConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config } }\n": typeof types.UpdateDraftConfigDocument,
    "\n  mutation SimulateCampaign($id: ID!, $events: [EventInput!]!) {\n    simulateCampaign(id: $id, events: $events) { effects { kind payload } noEffectReason problem }\n  }\n": typeof types.SimulateCampaignDocument,
    "mutation ActivateNewCampaign($id: ID!) { activateCampaign(id: $id) { id code status } }": typeof types.ActivateNewCampaignDocument,
    "\n  query Plugins {\n    plugins { id name version checksum status registeredAt eventTypes health { state restarts consecutiveFailures lastError retryAt } campaigns { id code name status } }\n  }\n": typeof types.PluginsDocument,
    "mutation ReloadPlugin($name: String!, $version: String!) { reloadPlugin(name: $name, version: $version) { id health { state restarts lastError } } }": typeof types.ReloadPluginDocument,
    "\n  query Rewards($program: String, $after: String) {\n    programs { code name }\n    rewards(filter: { program: $program }, first: 20, after: $after) {\n      edges { node { id code title category price regions stock codePool codesAvailable active validity program { code } campaign { code } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.RewardsDocument,
    "mutation CreateReward($input: CreateRewardInput!) { createReward(input: $input) { id } }": typeof types.CreateRewardDocument,
    "mutation UpdateReward($id: ID!, $input: UpdateRewardInput!) { updateReward(id: $id, input: $input) { id title price stock regions active } }": typeof types.UpdateRewardDocument,
    "mutation ImportRewardCodes($id: ID!, $codes: [String!]!) { importRewardCodes(rewardId: $id, codes: $codes) { imported duplicates reward { id codesAvailable } } }": typeof types.ImportRewardCodesDocument,
};
const documents: Documents = {
    "\n  query Viewer {\n    viewer { kind roles apiKeyName }\n  }\n": types.ViewerDocument,
    "\n  query Backtests($campaign: ID!) {\n    backtests(campaign: $campaign, first: 1) {\n      id status progress simulatedTo eventsTotal eventsDone error from to createdAt finishedAt cost\n      totals { eventsEvaluated enrollmentsReplayed enrollmentsAccepted hookRuns pointsIssued pointsDebited benefitsGranted membersReached refused }\n      days { date eventsEvaluated pointsIssued benefitsGranted membersReached }\n    }\n  }\n": types.BacktestsDocument,
    "\n  mutation StartBacktest($input: StartBacktestInput!) { startBacktest(input: $input) { id status } }\n": types.StartBacktestDocument,
    "\n  mutation CancelBacktest($id: ID!) { cancelBacktest(id: $id) { id status } }\n": types.CancelBacktestDocument,
    "\n  query CampaignShadow($code: String!, $after: String) {\n    campaign(code: $code) {\n      id\n      shadow {\n        plugin pluginVersion config status attachedAt attachedBy\n        health { state consecutiveFailures }\n        diff {\n          events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits membersAffected lastError\n          examples(first: 10, after: $after) {\n            edges { node {\n              event { id externalId occurredAt }\n              member { externalRef name }\n              live { points effects { kind } noEffectReason error }\n              shadow { points effects { kind } noEffectReason error }\n            } }\n            pageInfo { hasNextPage endCursor }\n          }\n        }\n      }\n    }\n    plugins { name version }\n  }\n": types.CampaignShadowDocument,
    "\n  mutation AttachShadow($input: AttachShadowInput!) { attachShadow(input: $input) { status } }\n": types.AttachShadowDocument,
    "\n  mutation PromoteShadow($id: ID!) { promoteShadow(campaignId: $id) { status campaign { id pluginVersion config updatedAt } } }\n": types.PromoteShadowDocument,
    "\n  mutation DropShadow($id: ID!) { dropShadow(campaignId: $id) { status } }\n": types.DropShadowDocument,
    "\n  query Audit($after: String) {\n    auditLog(first: 20, after: $after) {\n      edges { node { id at actor role operation outcome errorCode } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.AuditDocument,
    "\n  query Campaign($code: String!, $from: Date, $to: Date) {\n    campaign(code: $code) {\n      id code name status timeZone startsAt endsAt pluginName pluginVersion config updatedAt\n      program { code name }\n      plugin { configSchema schedules { name spec } eventTypes }\n      figures(from: $from, to: $to) {\n        from to\n        days { date applied noEffect waiting refused pointsIssued }\n        total { applied noEffect waiting refused pointsIssued }\n        noEffectReasons { reason count }\n      }\n    }\n  }\n": types.CampaignDocument,
    "\n  query Participants($code: String!, $search: String, $after: String) {\n    campaign(code: $code) {\n      id\n      participants(search: $search, first: 20, after: $after) {\n        edges { node { id registeredBy responsible enrolledAt member { externalRef name email } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.ParticipantsDocument,
    "mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status updatedAt } }": types.ActivateCampaignDocument,
    "mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status updatedAt } }": types.PauseCampaignDocument,
    "mutation EndCampaign($id: ID!) { endCampaign(id: $id) { id status updatedAt } }": types.EndCampaignDocument,
    "\n  mutation UpdateCampaignConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config updatedAt } }\n": types.UpdateCampaignConfigDocument,
    "\n  query Campaigns($filter: CampaignFilter, $after: String) {\n    programs { code name }\n    campaigns(filter: $filter, first: 20, after: $after) {\n      edges { node { id code name status pluginName pluginVersion timeZone startsAt endsAt program { code name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.CampaignsDocument,
    "\n  query FulfilmentCampaigns {\n    campaigns(first: 100) { edges { node { id code name pluginName } } }\n  }\n": types.FulfilmentCampaignsDocument,
    "\n  query Fulfilment($code: String!, $month: String!) {\n    campaign(code: $code) {\n      id name\n      fulfillment(month: $month) {\n        id key title recipient fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote createdAt\n        member { externalRef name }\n      }\n    }\n  }\n": types.FulfilmentDocument,
    "\n  mutation SetFulfillmentStatus($input: SetFulfillmentStatusInput!) {\n    setFulfillmentStatus(input: $input) { benefit { id fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote } }\n  }\n": types.SetFulfillmentStatusDocument,
    "\n  query Members($search: String!, $after: String) {\n    members(filter: { search: $search }, first: 20, after: $after) {\n      edges { node { id externalRef name email phone region status } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.MembersDocument,
    "\n  query Member($ref: String!, $txAfter: String, $evAfter: String, $bnAfter: String) {\n    member(externalRef: $ref) {\n      id externalRef name email phone region status createdAt\n      balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }\n      tiers { program { code } tier validUntil }\n      benefits(first: 10, after: $bnAfter) {\n        edges { node { id kind title percent quantity recipient code status validUntil fulfillmentStatus campaign { code name } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id kind points reason createdAt program { code } reversedBy { id } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      events(first: 10, after: $evAfter) {\n        edges { node {\n          id type source externalId occurredAt status lastError attributes\n          outcome { reason campaigns { campaign { code name } status code reason effects { kind points detail } } waiting { campaign { code } error } }\n        } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.MemberDocument,
    "\n  query TransactionExplanations($ref: String!, $txAfter: String) {\n    member(externalRef: $ref) {\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id explanation {\n          origin hook dueAt effectIndex\n          event { type source externalId occurredAt }\n          campaign { code name }\n          plugin { name version checksum }\n          enrollment { enrolledAt }\n          outcome { status code reason decision { kind points detail } effects { kind points detail } }\n        } } }\n      }\n    }\n  }\n": types.TransactionExplanationsDocument,
    "\n  mutation AdjustPoints($memberId: ID!, $program: String!, $amount: Int!, $reason: String!, $key: String!) {\n    adjustPoints(memberId: $memberId, program: $program, amount: $amount, reason: $reason, idempotencyKey: $key) { transaction { id points } balance { available } }\n  }\n": types.AdjustPointsDocument,
    "\n  mutation ReverseTransaction($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { transaction { id points } } }\n": types.ReverseTransactionDocument,
    "\n  query NewCampaign {\n    programs { code name }\n    plugins { id name version status eventTypes configSchema defaultConfig health { state } }\n    members(first: 1) { edges { node { externalRef } } }\n  }\n": types.NewCampaignDocument,
    "\n  mutation CreateCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id code status config } }\n": types.CreateCampaignDocument,
    "\n  mutation UpdateDraftConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config } }\n": types.UpdateDraftConfigDocument,
    "\n  mutation SimulateCampaign($id: ID!, $events: [EventInput!]!) {\n    simulateCampaign(id: $id, events: $events) { effects { kind payload } noEffectReason problem }\n  }\n": types.SimulateCampaignDocument,
    "mutation ActivateNewCampaign($id: ID!) { activateCampaign(id: $id) { id code status } }": types.ActivateNewCampaignDocument,
    "\n  query Plugins {\n    plugins { id name version checksum status registeredAt eventTypes health { state restarts consecutiveFailures lastError retryAt } campaigns { id code name status } }\n  }\n": types.PluginsDocument,
    "mutation ReloadPlugin($name: String!, $version: String!) { reloadPlugin(name: $name, version: $version) { id health { state restarts lastError } } }": types.ReloadPluginDocument,
    "\n  query Rewards($program: String, $after: String) {\n    programs { code name }\n    rewards(filter: { program: $program }, first: 20, after: $after) {\n      edges { node { id code title category price regions stock codePool codesAvailable active validity program { code } campaign { code } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.RewardsDocument,
    "mutation CreateReward($input: CreateRewardInput!) { createReward(input: $input) { id } }": types.CreateRewardDocument,
    "mutation UpdateReward($id: ID!, $input: UpdateRewardInput!) { updateReward(id: $id, input: $input) { id title price stock regions active } }": types.UpdateRewardDocument,
    "mutation ImportRewardCodes($id: ID!, $codes: [String!]!) { importRewardCodes(rewardId: $id, codes: $codes) { imported duplicates reward { id codesAvailable } } }": types.ImportRewardCodesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer { kind roles apiKeyName }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer { kind roles apiKeyName }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Backtests($campaign: ID!) {\n    backtests(campaign: $campaign, first: 1) {\n      id status progress simulatedTo eventsTotal eventsDone error from to createdAt finishedAt cost\n      totals { eventsEvaluated enrollmentsReplayed enrollmentsAccepted hookRuns pointsIssued pointsDebited benefitsGranted membersReached refused }\n      days { date eventsEvaluated pointsIssued benefitsGranted membersReached }\n    }\n  }\n"): (typeof documents)["\n  query Backtests($campaign: ID!) {\n    backtests(campaign: $campaign, first: 1) {\n      id status progress simulatedTo eventsTotal eventsDone error from to createdAt finishedAt cost\n      totals { eventsEvaluated enrollmentsReplayed enrollmentsAccepted hookRuns pointsIssued pointsDebited benefitsGranted membersReached refused }\n      days { date eventsEvaluated pointsIssued benefitsGranted membersReached }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartBacktest($input: StartBacktestInput!) { startBacktest(input: $input) { id status } }\n"): (typeof documents)["\n  mutation StartBacktest($input: StartBacktestInput!) { startBacktest(input: $input) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelBacktest($id: ID!) { cancelBacktest(id: $id) { id status } }\n"): (typeof documents)["\n  mutation CancelBacktest($id: ID!) { cancelBacktest(id: $id) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CampaignShadow($code: String!, $after: String) {\n    campaign(code: $code) {\n      id\n      shadow {\n        plugin pluginVersion config status attachedAt attachedBy\n        health { state consecutiveFailures }\n        diff {\n          events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits membersAffected lastError\n          examples(first: 10, after: $after) {\n            edges { node {\n              event { id externalId occurredAt }\n              member { externalRef name }\n              live { points effects { kind } noEffectReason error }\n              shadow { points effects { kind } noEffectReason error }\n            } }\n            pageInfo { hasNextPage endCursor }\n          }\n        }\n      }\n    }\n    plugins { name version }\n  }\n"): (typeof documents)["\n  query CampaignShadow($code: String!, $after: String) {\n    campaign(code: $code) {\n      id\n      shadow {\n        plugin pluginVersion config status attachedAt attachedBy\n        health { state consecutiveFailures }\n        diff {\n          events pending failed decided agreed disagreed livePoints shadowPoints liveBenefits shadowBenefits membersAffected lastError\n          examples(first: 10, after: $after) {\n            edges { node {\n              event { id externalId occurredAt }\n              member { externalRef name }\n              live { points effects { kind } noEffectReason error }\n              shadow { points effects { kind } noEffectReason error }\n            } }\n            pageInfo { hasNextPage endCursor }\n          }\n        }\n      }\n    }\n    plugins { name version }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AttachShadow($input: AttachShadowInput!) { attachShadow(input: $input) { status } }\n"): (typeof documents)["\n  mutation AttachShadow($input: AttachShadowInput!) { attachShadow(input: $input) { status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PromoteShadow($id: ID!) { promoteShadow(campaignId: $id) { status campaign { id pluginVersion config updatedAt } } }\n"): (typeof documents)["\n  mutation PromoteShadow($id: ID!) { promoteShadow(campaignId: $id) { status campaign { id pluginVersion config updatedAt } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DropShadow($id: ID!) { dropShadow(campaignId: $id) { status } }\n"): (typeof documents)["\n  mutation DropShadow($id: ID!) { dropShadow(campaignId: $id) { status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Audit($after: String) {\n    auditLog(first: 20, after: $after) {\n      edges { node { id at actor role operation outcome errorCode } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Audit($after: String) {\n    auditLog(first: 20, after: $after) {\n      edges { node { id at actor role operation outcome errorCode } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Campaign($code: String!, $from: Date, $to: Date) {\n    campaign(code: $code) {\n      id code name status timeZone startsAt endsAt pluginName pluginVersion config updatedAt\n      program { code name }\n      plugin { configSchema schedules { name spec } eventTypes }\n      figures(from: $from, to: $to) {\n        from to\n        days { date applied noEffect waiting refused pointsIssued }\n        total { applied noEffect waiting refused pointsIssued }\n        noEffectReasons { reason count }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Campaign($code: String!, $from: Date, $to: Date) {\n    campaign(code: $code) {\n      id code name status timeZone startsAt endsAt pluginName pluginVersion config updatedAt\n      program { code name }\n      plugin { configSchema schedules { name spec } eventTypes }\n      figures(from: $from, to: $to) {\n        from to\n        days { date applied noEffect waiting refused pointsIssued }\n        total { applied noEffect waiting refused pointsIssued }\n        noEffectReasons { reason count }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Participants($code: String!, $search: String, $after: String) {\n    campaign(code: $code) {\n      id\n      participants(search: $search, first: 20, after: $after) {\n        edges { node { id registeredBy responsible enrolledAt member { externalRef name email } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Participants($code: String!, $search: String, $after: String) {\n    campaign(code: $code) {\n      id\n      participants(search: $search, first: 20, after: $after) {\n        edges { node { id registeredBy responsible enrolledAt member { externalRef name email } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status updatedAt } }"): (typeof documents)["mutation ActivateCampaign($id: ID!) { activateCampaign(id: $id) { id status updatedAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status updatedAt } }"): (typeof documents)["mutation PauseCampaign($id: ID!) { pauseCampaign(id: $id) { id status updatedAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation EndCampaign($id: ID!) { endCampaign(id: $id) { id status updatedAt } }"): (typeof documents)["mutation EndCampaign($id: ID!) { endCampaign(id: $id) { id status updatedAt } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateCampaignConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config updatedAt } }\n"): (typeof documents)["\n  mutation UpdateCampaignConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config updatedAt } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Campaigns($filter: CampaignFilter, $after: String) {\n    programs { code name }\n    campaigns(filter: $filter, first: 20, after: $after) {\n      edges { node { id code name status pluginName pluginVersion timeZone startsAt endsAt program { code name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Campaigns($filter: CampaignFilter, $after: String) {\n    programs { code name }\n    campaigns(filter: $filter, first: 20, after: $after) {\n      edges { node { id code name status pluginName pluginVersion timeZone startsAt endsAt program { code name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FulfilmentCampaigns {\n    campaigns(first: 100) { edges { node { id code name pluginName } } }\n  }\n"): (typeof documents)["\n  query FulfilmentCampaigns {\n    campaigns(first: 100) { edges { node { id code name pluginName } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Fulfilment($code: String!, $month: String!) {\n    campaign(code: $code) {\n      id name\n      fulfillment(month: $month) {\n        id key title recipient fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote createdAt\n        member { externalRef name }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Fulfilment($code: String!, $month: String!) {\n    campaign(code: $code) {\n      id name\n      fulfillment(month: $month) {\n        id key title recipient fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote createdAt\n        member { externalRef name }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetFulfillmentStatus($input: SetFulfillmentStatusInput!) {\n    setFulfillmentStatus(input: $input) { benefit { id fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote } }\n  }\n"): (typeof documents)["\n  mutation SetFulfillmentStatus($input: SetFulfillmentStatusInput!) {\n    setFulfillmentStatus(input: $input) { benefit { id fulfillmentStatus fulfillmentChangedAt fulfillmentChangedBy fulfillmentNote } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Members($search: String!, $after: String) {\n    members(filter: { search: $search }, first: 20, after: $after) {\n      edges { node { id externalRef name email phone region status } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Members($search: String!, $after: String) {\n    members(filter: { search: $search }, first: 20, after: $after) {\n      edges { node { id externalRef name email phone region status } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Member($ref: String!, $txAfter: String, $evAfter: String, $bnAfter: String) {\n    member(externalRef: $ref) {\n      id externalRef name email phone region status createdAt\n      balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }\n      tiers { program { code } tier validUntil }\n      benefits(first: 10, after: $bnAfter) {\n        edges { node { id kind title percent quantity recipient code status validUntil fulfillmentStatus campaign { code name } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id kind points reason createdAt program { code } reversedBy { id } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      events(first: 10, after: $evAfter) {\n        edges { node {\n          id type source externalId occurredAt status lastError attributes\n          outcome { reason campaigns { campaign { code name } status code reason effects { kind points detail } } waiting { campaign { code } error } }\n        } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Member($ref: String!, $txAfter: String, $evAfter: String, $bnAfter: String) {\n    member(externalRef: $ref) {\n      id externalRef name email phone region status createdAt\n      balances { program { code name } available pending lifetimeEarned statusPoints nextExpiration { amount at } }\n      tiers { program { code } tier validUntil }\n      benefits(first: 10, after: $bnAfter) {\n        edges { node { id kind title percent quantity recipient code status validUntil fulfillmentStatus campaign { code name } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id kind points reason createdAt program { code } reversedBy { id } } }\n        pageInfo { hasNextPage endCursor }\n      }\n      events(first: 10, after: $evAfter) {\n        edges { node {\n          id type source externalId occurredAt status lastError attributes\n          outcome { reason campaigns { campaign { code name } status code reason effects { kind points detail } } waiting { campaign { code } error } }\n        } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TransactionExplanations($ref: String!, $txAfter: String) {\n    member(externalRef: $ref) {\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id explanation {\n          origin hook dueAt effectIndex\n          event { type source externalId occurredAt }\n          campaign { code name }\n          plugin { name version checksum }\n          enrollment { enrolledAt }\n          outcome { status code reason decision { kind points detail } effects { kind points detail } }\n        } } }\n      }\n    }\n  }\n"): (typeof documents)["\n  query TransactionExplanations($ref: String!, $txAfter: String) {\n    member(externalRef: $ref) {\n      transactions(first: 10, after: $txAfter) {\n        edges { node { id explanation {\n          origin hook dueAt effectIndex\n          event { type source externalId occurredAt }\n          campaign { code name }\n          plugin { name version checksum }\n          enrollment { enrolledAt }\n          outcome { status code reason decision { kind points detail } effects { kind points detail } }\n        } } }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdjustPoints($memberId: ID!, $program: String!, $amount: Int!, $reason: String!, $key: String!) {\n    adjustPoints(memberId: $memberId, program: $program, amount: $amount, reason: $reason, idempotencyKey: $key) { transaction { id points } balance { available } }\n  }\n"): (typeof documents)["\n  mutation AdjustPoints($memberId: ID!, $program: String!, $amount: Int!, $reason: String!, $key: String!) {\n    adjustPoints(memberId: $memberId, program: $program, amount: $amount, reason: $reason, idempotencyKey: $key) { transaction { id points } balance { available } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReverseTransaction($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { transaction { id points } } }\n"): (typeof documents)["\n  mutation ReverseTransaction($id: ID!, $reason: String!) { reverseTransaction(id: $id, reason: $reason) { transaction { id points } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NewCampaign {\n    programs { code name }\n    plugins { id name version status eventTypes configSchema defaultConfig health { state } }\n    members(first: 1) { edges { node { externalRef } } }\n  }\n"): (typeof documents)["\n  query NewCampaign {\n    programs { code name }\n    plugins { id name version status eventTypes configSchema defaultConfig health { state } }\n    members(first: 1) { edges { node { externalRef } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id code status config } }\n"): (typeof documents)["\n  mutation CreateCampaign($input: CreateCampaignInput!) { createCampaign(input: $input) { id code status config } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateDraftConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config } }\n"): (typeof documents)["\n  mutation UpdateDraftConfig($id: ID!, $config: JSON!) { updateCampaignConfig(id: $id, config: $config) { id config } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SimulateCampaign($id: ID!, $events: [EventInput!]!) {\n    simulateCampaign(id: $id, events: $events) { effects { kind payload } noEffectReason problem }\n  }\n"): (typeof documents)["\n  mutation SimulateCampaign($id: ID!, $events: [EventInput!]!) {\n    simulateCampaign(id: $id, events: $events) { effects { kind payload } noEffectReason problem }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ActivateNewCampaign($id: ID!) { activateCampaign(id: $id) { id code status } }"): (typeof documents)["mutation ActivateNewCampaign($id: ID!) { activateCampaign(id: $id) { id code status } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Plugins {\n    plugins { id name version checksum status registeredAt eventTypes health { state restarts consecutiveFailures lastError retryAt } campaigns { id code name status } }\n  }\n"): (typeof documents)["\n  query Plugins {\n    plugins { id name version checksum status registeredAt eventTypes health { state restarts consecutiveFailures lastError retryAt } campaigns { id code name status } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ReloadPlugin($name: String!, $version: String!) { reloadPlugin(name: $name, version: $version) { id health { state restarts lastError } } }"): (typeof documents)["mutation ReloadPlugin($name: String!, $version: String!) { reloadPlugin(name: $name, version: $version) { id health { state restarts lastError } } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Rewards($program: String, $after: String) {\n    programs { code name }\n    rewards(filter: { program: $program }, first: 20, after: $after) {\n      edges { node { id code title category price regions stock codePool codesAvailable active validity program { code } campaign { code } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Rewards($program: String, $after: String) {\n    programs { code name }\n    rewards(filter: { program: $program }, first: 20, after: $after) {\n      edges { node { id code title category price regions stock codePool codesAvailable active validity program { code } campaign { code } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateReward($input: CreateRewardInput!) { createReward(input: $input) { id } }"): (typeof documents)["mutation CreateReward($input: CreateRewardInput!) { createReward(input: $input) { id } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateReward($id: ID!, $input: UpdateRewardInput!) { updateReward(id: $id, input: $input) { id title price stock regions active } }"): (typeof documents)["mutation UpdateReward($id: ID!, $input: UpdateRewardInput!) { updateReward(id: $id, input: $input) { id title price stock regions active } }"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ImportRewardCodes($id: ID!, $codes: [String!]!) { importRewardCodes(rewardId: $id, codes: $codes) { imported duplicates reward { id codesAvailable } } }"): (typeof documents)["mutation ImportRewardCodes($id: ID!, $codes: [String!]!) { importRewardCodes(rewardId: $id, codes: $codes) { imported duplicates reward { id codesAvailable } } }"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;