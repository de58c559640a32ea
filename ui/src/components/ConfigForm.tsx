// ConfigForm renders a campaign configuration form from the plugin's own JSON Schema
// (Plugin.configSchema) with react-jsonschema-form. Validation is the plugin's: the form sends
// the configuration to the server, which asks the plugin's ValidateConfig, and the field errors
// of INVALID_CONFIG are shown on their fields (extraErrors).
import Form from "@rjsf/core";
import type { ErrorSchema, RJSFSchema, UiSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import type { FieldError } from "../api";

// prepareSchema drops $schema (ajv's default draft does not know 2020-12 by URI; the keywords
// plugins use are the same) and returns a schema the form can render.
export function prepareSchema(schema: unknown): RJSFSchema {
  if (!schema || typeof schema !== "object") return { type: "object" };
  const { $schema: _ignored, ...rest } = schema as Record<string, unknown>;
  void _ignored;
  return rest as RJSFSchema;
}

// fieldPath splits an INVALID_CONFIG field into its steps: a JSON pointer ("/rows/0/points",
// "/schemes/8+4", what Go plugins built on sdk.Config report) or, from plugins that predate it,
// a dotted path ("rows[0].points"); "" is the whole configuration.
export function fieldPath(field: string): string[] {
  if (!field) return [];
  if (field.startsWith("/")) {
    return field.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  }
  return field.replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
}

// toErrorSchema turns INVALID_CONFIG fields into rjsf's nested error schema; errors on the
// whole configuration go on the root.
export function toErrorSchema(errors: FieldError[]): ErrorSchema {
  const root: Record<string, unknown> = {};
  for (const e of errors) {
    const parts = fieldPath(e.field);
    let node = root;
    for (const p of parts) {
      node[p] = (node[p] as Record<string, unknown>) ?? {};
      node = node[p] as Record<string, unknown>;
    }
    const list = (node.__errors as string[]) ?? [];
    list.push(e.message);
    node.__errors = list;
  }
  return root as ErrorSchema;
}

export function ConfigForm({ schema, value, onChange, errors, disabled, id }: {
  schema: unknown; value: unknown; onChange: (v: unknown) => void; errors: FieldError[]; disabled?: boolean; id: string;
}) {
  const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
  return (
    <div className="config-form" data-testid={id}>
      <Form
        idPrefix={id}
        schema={prepareSchema(schema)}
        uiSchema={ui}
        formData={value}
        validator={validator}
        noValidate
        showErrorList={false}
        disabled={disabled}
        extraErrors={toErrorSchema(errors)}
        onChange={(e) => onChange(e.formData)}
      />
    </div>
  );
}

// diffConfig lists the leaves that differ between two configurations, as path: before → after.
export function diffConfig(before: unknown, after: unknown): { path: string; before?: string; after?: string }[] {
  const flat = (v: unknown, prefix: string, out: Map<string, string>) => {
    if (v !== null && typeof v === "object") {
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as object);
      if (entries.length === 0) out.set(prefix || "(root)", JSON.stringify(v));
      for (const [k, x] of entries) flat(x, prefix ? (Array.isArray(v) ? `${prefix}[${k}]` : `${prefix}.${k}`) : Array.isArray(v) ? `[${k}]` : k, out);
    } else out.set(prefix || "(root)", JSON.stringify(v));
    return out;
  };
  const a = flat(before, "", new Map()), b = flat(after, "", new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => ({ path: k, before: a.get(k), after: b.get(k) }));
}

export function Diff({ before, after, none }: { before: unknown; after: unknown; none: string }) {
  const d = diffConfig(before, after);
  if (d.length === 0) return <p className="muted">{none}</p>;
  return (
    <table className="diff" data-testid="config-diff">
      <tbody>
        {d.map((x) => (
          <tr key={x.path}>
            <td className="mono">{x.path}</td>
            <td className="del mono">{x.before ?? ""}</td>
            <td className="add mono">{x.after ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
