// The fleet: every gateway instance sharing this state store and which one
// leads (runs the rollout controller).
import { html, since } from './format.ts';
import { useNow, useOverview } from './overview.ts';

export function InstancesPage() {
  const { overview, error } = useOverview();
  const now = useNow();
  const instances = overview?.instances ?? [];
  return html`<main>
    <h1>Instances</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <p>${instances.length === 1 ? 'One instance: it leads.' : `${instances.length} instances share the state; the leader runs the rollouts.`}</p>
    <div class="table-wrap"><table>
      <caption class="visually-hidden">Gateway instances</caption>
      <thead><tr><th scope="col">Instance</th><th scope="col">Role</th><th scope="col">Host / pid</th><th scope="col">Admin</th><th scope="col">Up for</th><th scope="col">Last seen</th></tr></thead>
      <tbody>${instances.map(
        (i) => html`<tr class=${i.leader ? 'leader' : undefined}>
          <th scope="row"><code>${i.id}</code></th>
          <td>${i.leader ? html`<span class="badge badge-leader">leader</span>` : 'follower'}</td>
          <td>${i.host ?? '–'} / ${i.pid ?? '–'}</td>
          <td>${i.admin ? html`<code>${i.admin}</code>` : '–'}</td>
          <td>${since(i.startedAt ?? null, now)}</td>
          <td>${i.lastSeen ? `${since(i.lastSeen, now)} ago` : '–'}</td>
        </tr>`,
      )}</tbody>
    </table></div>
  </main>`;
}
