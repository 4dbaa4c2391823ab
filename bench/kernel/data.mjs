// The benchmark's data, shared by bench/kernel/run.mjs and the lab (bench/kernel/lab/): SERVICES services of
// DESTS masq destinations each, as an ipvsadm save file, and a 1% change of it (half of the changed destinations
// get a new weight, a quarter are removed, a quarter are added at new addresses) as a desired state, as the
// minimal ipvsadm lines, and as the lines that undo them.

export function benchData(services, dests) {
  const svcAddr = (i) => `10.1.${i >> 8}.${i & 255}`;
  const destAddr = (i, j) => {
    const k = i * dests + j + 1;
    return `10.${64 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
  };
  const newAddr = (k) => `10.200.${k >> 8}.${(k & 255) + 1}`;
  const weight = (i, j) => 1 + ((i + j) % 3);

  /** The table as ipvsadm -R reads it; services in index order, destinations likewise (-R does not care). */
  function saveText() {
    const lines = [];
    for (let i = 0; i < services; i++) {
      lines.push(`-A -t ${svcAddr(i)}:80 -s wlc`);
      for (let j = 0; j < dests; j++) lines.push(`-a -t ${svcAddr(i)}:80 -r ${destAddr(i, j)}:8080 -m -w ${weight(i, j)}`);
    }
    return lines.join('\n') + '\n';
  }

  /** 1% of the destinations, spread over the table: { i (service), kind, k (the change's index) }. */
  function changes() {
    const count = Math.max(4, Math.round((services * dests) / 100));
    const stride = Math.max(1, Math.floor(services / count));
    const edits = [];
    for (let k = 0; k < count; k++) {
      const i = (k * stride) % services;
      const kind = k % 4 < 2 ? 'edit' : k % 4 === 2 ? 'remove' : 'add';
      edits.push({ i, kind, k });
    }
    return edits;
  }

  /** The whole table with the changes made, as a desired state (plain JSON). */
  function changedState(edits) {
    const byService = new Map(edits.map((e) => [e.i, e]));
    const out = [];
    for (let i = 0; i < services; i++) {
      const list = [];
      const e = byService.get(i);
      for (let j = 0; j < dests; j++) {
        if (e?.kind === 'remove' && j === 1) continue;
        const w = e?.kind === 'edit' && j === 0 ? 50 : weight(i, j);
        list.push({ address: destAddr(i, j), port: 8080, forwarding: 'masq', weight: w });
      }
      if (e?.kind === 'add') list.push({ address: newAddr(e.k), port: 8080, forwarding: 'masq', weight: 1 });
      out.push({ protocol: 'tcp', address: svcAddr(i), port: 80, destinations: list });
    }
    return { services: out };
  }

  /** The changes alone, as ipvsadm lines. */
  function changeRules(edits) {
    return edits
      .map((e) => {
        const svc = `-t ${svcAddr(e.i)}:80`;
        if (e.kind === 'edit') return `-e ${svc} -r ${destAddr(e.i, 0)}:8080 -m -w 50`;
        if (e.kind === 'remove') return `-d ${svc} -r ${destAddr(e.i, 1)}:8080`;
        return `-a ${svc} -r ${newAddr(e.k)}:8080 -m -w 1`;
      })
      .join('\n') + '\n';
  }

  /** The lines that take the table back to saveText() after the changes. */
  function revertRules(edits) {
    return edits
      .map((e) => {
        const svc = `-t ${svcAddr(e.i)}:80`;
        if (e.kind === 'edit') return `-e ${svc} -r ${destAddr(e.i, 0)}:8080 -m -w ${weight(e.i, 0)}`;
        if (e.kind === 'remove') return `-a ${svc} -r ${destAddr(e.i, 1)}:8080 -m -w ${weight(e.i, 1)}`;
        return `-d ${svc} -r ${newAddr(e.k)}:8080`;
      })
      .join('\n') + '\n';
  }

  return { saveText, changes, changedState, changeRules, revertRules };
}
