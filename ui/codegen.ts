import type { CodegenConfig } from "@graphql-codegen/cli";

// Types of every GraphQL document in src/ (graphql(`…`) calls), from the server's schema files.
// `npm run codegen` (part of `make console`) rewrites src/gql/.
const config: CodegenConfig = {
  schema: ["../schema.graphqls", "../security.graphqls", "../rewards.graphqls", "../console.graphqls", "../shadow.graphqls", "../explain.graphqls", "../backtest.graphqls"],
  documents: ["src/**/*.tsx", "src/**/*.ts", "!src/gql/**"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { Time: "string", Date: "string", JSON: "any", ID: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
