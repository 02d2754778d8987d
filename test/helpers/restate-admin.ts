/** The Restate admin API calls the upgrade runbook uses: deployments, and SQL over Restate's own tables. */

export interface Deployment {
  id: string;
  uri: string;
}

/** Restate's SQL introspection (`POST /query`), the data its UI shows. */
export async function restateSql(adminUrl: string, query: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query }),
  });
  if (!res.ok) throw new Error(`query: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { rows: Array<Record<string, unknown>> }).rows;
}

export async function listDeployments(adminUrl: string): Promise<Deployment[]> {
  const res = await fetch(`${adminUrl}/deployments`);
  if (!res.ok) throw new Error(`deployments: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { deployments: Array<{ id: string; uri?: string }> };
  return body.deployments.map((d) => ({ id: d.id, uri: d.uri ?? "" }));
}

/** How many invocations not yet completed are pinned to a deployment: 0 means it may be removed. */
export async function pinnedTo(adminUrl: string, deploymentId: string): Promise<number> {
  if (!/^dp_\w+$/.test(deploymentId)) throw new Error(`not a deployment id: ${deploymentId}`);
  const rows = await restateSql(
    adminUrl,
    `SELECT count(*) AS n FROM sys_invocation WHERE pinned_deployment_id = '${deploymentId}' AND status != 'completed'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** `DELETE /deployments/<id>`: Restate's answer, as status and text (the caller decides what is expected). */
export async function removeDeployment(
  adminUrl: string,
  deploymentId: string,
  opts: { force?: boolean } = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${adminUrl}/deployments/${encodeURIComponent(deploymentId)}?force=${opts.force === true}`, {
    method: "DELETE",
  });
  return { status: res.status, text: await res.text() };
}

/** The invocations not yet completed that are pinned to a deployment. */
export async function invocationsPinnedTo(adminUrl: string, deploymentId: string): Promise<string[]> {
  if (!/^dp_\w+$/.test(deploymentId)) throw new Error(`not a deployment id: ${deploymentId}`);
  const rows = await restateSql(
    adminUrl,
    `SELECT id FROM sys_invocation WHERE pinned_deployment_id = '${deploymentId}' AND status != 'completed'`,
  );
  return rows.map((r) => String(r.id));
}

/**
 * Moves an invocation that is not running onto another deployment: `PATCH /invocations/<id>/pause`,
 * then, once Restate reports it paused, `PATCH /invocations/<id>/resume?deployment=<id>` (Restate
 * refuses to re-pin one that is running or backing off).
 */
export async function moveTo(adminUrl: string, invocationId: string, deploymentId: string): Promise<void> {
  const call = async (action: string) => {
    const res = await fetch(`${adminUrl}/invocations/${encodeURIComponent(invocationId)}/${action}`, { method: "PATCH" });
    if (!res.ok) throw new Error(`${action} ${invocationId}: ${res.status} ${await res.text()}`);
  };
  await call("pause");
  for (let i = 0; ; i++) {
    const [row] = await restateSql(adminUrl, `SELECT status FROM sys_invocation WHERE id = '${invocationId.replace(/\W/g, "")}'`);
    if (row?.status === "paused") break;
    if (i >= 200) throw new Error(`${invocationId} did not pause: ${String(row?.status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await call(`resume?deployment=${encodeURIComponent(deploymentId)}`);
}
