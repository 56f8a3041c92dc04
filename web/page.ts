/**
 * The sealing page's DOM shell: reads the form, shows problems as the user types, seals on submit.
 * The logic is in seal-form.ts; this file only moves values between it and the document.
 *
 * Invariants: the only request is GET v1/cert.pem (relative, so the page works under any proxy
 * path); values stay in memory (no cookies, no storage, autocomplete off) and leave the page only
 * as ciphertext, in the output box, the clipboard or a download the user asks for.
 */
import { certificateDer, fingerprintOf, readCertificate, validityWarning, type CertificateInfo } from '../shared/certificate-info.ts';
import { errorMessage } from '../shared/errors.ts';
import { importSealingKey, type WebKey } from '../shared/wire-format.ts';
import { downloadName, previewValues, sealForm, validate, type FormState, type Mode, type Row, type TemplateRow } from './seal-form.ts';

interface Certificate {
  readonly pem: string;
  readonly info: CertificateInfo;
  readonly key: WebKey;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

const random = (size: number): Uint8Array => crypto.getRandomValues(new Uint8Array(size));
const sha256 = async (bytes: Uint8Array): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));

/** One key/value row's elements and its file, if one was chosen. */
interface RowView {
  readonly root: HTMLElement;
  readonly key: HTMLInputElement;
  readonly value: HTMLTextAreaElement;
  readonly file: HTMLInputElement;
  readonly remove: HTMLButtonElement;
  chosen?: { name: string; bytes: Uint8Array };
}

interface TemplateView {
  readonly root: HTMLElement;
  readonly key: HTMLInputElement;
  readonly template: HTMLTextAreaElement;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function start(): void {
  const rows: RowView[] = [];
  const templates: TemplateView[] = [];
  let certificate: Certificate | undefined;
  /** The certificate shown when the page loaded: a later, different one means the controller renewed. */
  let firstPem: string | undefined;
  let touched = new Set<string>();
  let output = '';

  const mode = $<HTMLSelectElement>('mode');
  const scope = $<HTMLSelectElement>('scope');
  const name = $<HTMLInputElement>('name');
  const namespace = $<HTMLInputElement>('namespace');
  const type = $<HTMLInputElement>('type');
  const manifest = $<HTMLTextAreaElement>('manifest');
  const format = $<HTMLSelectElement>('format');
  const outputBox = $<HTMLTextAreaElement>('output');

  // Later rows number their labels ("Key 2"); the first is exactly "Key" and "Value".
  const rowLabel = (base: string, i: number) => (i === 0 ? base : `${base} ${i + 1}`);

  function relabel(): void {
    rows.forEach((row, i) => {
      const [keyLabel, valueLabel, fileLabel] = row.root.querySelectorAll('label');
      row.key.id = `key-${i}`;
      row.value.id = `value-${i}`;
      row.file.id = `file-${i}`;
      keyLabel?.setAttribute('for', row.key.id);
      valueLabel?.setAttribute('for', row.value.id);
      fileLabel?.setAttribute('for', row.file.id);
      if (keyLabel) keyLabel.textContent = rowLabel('Key', i);
      if (valueLabel) valueLabel.textContent = rowLabel('Value', i);
      if (fileLabel) fileLabel.textContent = `${rowLabel('Value', i)} from a file`;
      row.key.setAttribute('aria-describedby', `key-${i}-error`);
      row.value.setAttribute('aria-describedby', `value-${i}-error`);
      row.root.querySelector('.key-error')?.setAttribute('id', `key-${i}-error`);
      row.root.querySelector('.value-error')?.setAttribute('id', `value-${i}-error`);
      row.remove.setAttribute('aria-label', `Remove ${rowLabel('Key', i)}`);
      row.remove.hidden = rows.length === 1;
    });
    templates.forEach((t, i) => {
      const [keyLabel, templateLabel] = t.root.querySelectorAll('label');
      t.key.id = `template-key-${i}`;
      t.template.id = `template-${i}`;
      keyLabel?.setAttribute('for', t.key.id);
      templateLabel?.setAttribute('for', t.template.id);
      if (keyLabel) keyLabel.textContent = rowLabel('Template key', i);
      if (templateLabel) templateLabel.textContent = rowLabel('Template', i);
      t.key.setAttribute('aria-describedby', `template-key-${i}-error`);
      t.root.querySelector('.error')?.setAttribute('id', `template-key-${i}-error`);
    });
  }

  function addRow(): RowView {
    const root = element('div', { class: 'row' });
    const keyField = element('div', { class: 'field' });
    const key = element('input', { spellcheck: 'false', autocomplete: 'off' });
    keyField.append(element('label'), key, element('p', { class: 'error key-error', 'aria-live': 'polite' }));
    const valueField = element('div', { class: 'field grow' });
    const value = element('textarea', { rows: '2', spellcheck: 'false', autocomplete: 'off' });
    valueField.append(element('label'), value, element('p', { class: 'error value-error', 'aria-live': 'polite' }));
    const fileField = element('div', { class: 'field' });
    const file = element('input', { type: 'file' });
    fileField.append(element('label'), file);
    const remove = element('button', { type: 'button', class: 'remove' }, 'Remove');
    root.append(keyField, valueField, fileField, remove);
    const view: RowView = { root, key, value, file, remove };
    file.addEventListener('change', async () => {
      const chosen = file.files?.[0];
      if (!chosen) {
        delete view.chosen;
        value.disabled = false;
        value.value = '';
      } else {
        view.chosen = { name: chosen.name, bytes: new Uint8Array(await chosen.arrayBuffer()) };
        value.value = '';
        value.placeholder = `from the file ${chosen.name} (${chosen.size} bytes)`;
        value.disabled = true;
      }
      touched.add(value.id);
      refresh();
    });
    remove.addEventListener('click', () => {
      const at = rows.indexOf(view);
      rows.splice(at, 1);
      root.remove();
      relabel();
      refresh();
      rows[Math.min(at, rows.length - 1)]?.key.focus();
    });
    $('rows').append(root);
    rows.push(view);
    relabel();
    return view;
  }

  function addTemplate(): TemplateView {
    const root = element('div', { class: 'row' });
    const keyField = element('div', { class: 'field' });
    const key = element('input', { spellcheck: 'false', autocomplete: 'off' });
    keyField.append(element('label'), key, element('p', { class: 'error', 'aria-live': 'polite' }));
    const templateField = element('div', { class: 'field grow' });
    const template = element('textarea', { rows: '2', spellcheck: 'false', autocomplete: 'off' });
    templateField.append(element('label'), template);
    const remove = element('button', { type: 'button', class: 'remove' }, 'Remove');
    root.append(keyField, templateField, remove);
    const view: TemplateView = { root, key, template };
    remove.addEventListener('click', () => {
      templates.splice(templates.indexOf(view), 1);
      root.remove();
      relabel();
      refresh();
      $('add-template').focus();
    });
    $('templates').append(root);
    templates.push(view);
    relabel();
    return view;
  }

  function state(): FormState {
    const m = mode.value as Mode;
    const rowStates: Row[] = (m === 'raw' ? rows.slice(0, 1) : rows).map((r) => ({ key: r.key.value, text: r.value.value, ...(r.chosen ? { file: r.chosen } : {}) }));
    const templateStates: TemplateRow[] = templates.map((t) => ({ key: t.key.value, template: t.template.value }));
    return {
      mode: m,
      name: name.value.trim(),
      namespace: namespace.value.trim(),
      type: type.value.trim(),
      scope: scope.value as FormState['scope'],
      rows: rowStates,
      manifest: manifest.value,
      templates: templateStates,
      format: format.value === 'json' ? 'json' : 'yaml',
    };
  }

  /** Show the problems of the fields the user has been to (all of them after a Seal). */
  function showProblems(all: boolean): Map<string, string> {
    const problems = validate(state());
    const fields: [string, HTMLElement, HTMLElement | null][] = [
      ['name', name, $('name-error')],
      ['namespace', namespace, $('namespace-error')],
      ['manifest', manifest, $('manifest-error')],
      ...rows.flatMap((r, i): [string, HTMLElement, HTMLElement | null][] => [
        [`key-${i}`, r.key, r.root.querySelector('.key-error')],
        [`value-${i}`, r.value, r.root.querySelector('.value-error')],
      ]),
      ...templates.map((t, i): [string, HTMLElement, HTMLElement | null] => [`template-key-${i}`, t.key, t.root.querySelector('.error')]),
    ];
    for (const [id, input, message] of fields) {
      const problem = all || touched.has(id) ? problems.get(id) : undefined;
      if (problem) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      if (message) message.textContent = problem ?? '';
    }
    return problems;
  }

  /** Mode-dependent visibility: raw mode seals one value, manifest mode takes a pasted Secret. */
  function layout(): void {
    const m = mode.value as Mode;
    $('manifest-field').hidden = m !== 'manifest';
    $('rows-field').hidden = m === 'manifest';
    $('type-field').hidden = m !== 'pairs';
    $('templates-field').hidden = m === 'raw';
    $('add-row').hidden = m === 'raw';
    rows.forEach((r, i) => {
      r.root.hidden = m === 'raw' && i > 0;
      (r.key.closest('.field') as HTMLElement).hidden = m === 'raw';
      r.remove.hidden = m === 'raw' || rows.length === 1;
    });
    const annotated = scope.querySelector<HTMLOptionElement>('option[value="annotated"]');
    if (annotated) annotated.hidden = m !== 'manifest';
    if (m === 'manifest' && scope.dataset.modeSet !== 'manifest') scope.value = 'annotated';
    if (m !== 'manifest' && scope.value === 'annotated') scope.value = 'strict';
    scope.dataset.modeSet = m;
  }

  let previewRun = 0;
  async function preview(): Promise<void> {
    const box = $('template-preview');
    const s = state();
    if (s.mode === 'raw' || s.templates.length === 0) {
      box.textContent = '';
      return;
    }
    const run = ++previewRun;
    let text: string;
    try {
      // The template engine is large: loaded only once someone writes a template.
      const { renderTemplateData } = await import('../shared/template/index.ts');
      const result = renderTemplateData({
        templateData: Object.fromEntries(s.templates.filter((t) => t.key !== '').map((t) => [t.key, t.template])),
        decrypted: previewValues(s),
        now: new Date(),
        random,
        clock: () => performance.now(),
      });
      const decoder = new TextDecoder();
      // The templated keys only: the other values are as typed.
      const templated = new Set(s.templates.map((t) => t.key));
      text = result.ok
        ? Object.entries(result.data).filter(([k]) => templated.has(k)).map(([k, v]) => `${k}: ${decoder.decode(v)}`).join('\n')
        : result.errors.map((e) => e.message).join('\n');
    } catch (error) {
      text = `The preview cannot render this: ${errorMessage(error)}`;
    }
    if (run === previewRun) box.textContent = text;
  }

  function setOutput(text: string): void {
    output = text;
    outputBox.value = text;
    ($('copy') as HTMLButtonElement).disabled = text === '';
    ($('download') as HTMLButtonElement).disabled = text === '';
    $('copy-status').textContent = '';
  }

  function refresh(): void {
    layout();
    showProblems(false);
    void preview();
    // The output no longer matches the form: clear it rather than let a stale one be copied.
    if (output !== '') setOutput('');
  }

  async function loadCertificate(): Promise<Certificate | undefined> {
    const warning = $('cert-warning');
    try {
      const response = await fetch('v1/cert.pem', { cache: 'no-store', credentials: 'same-origin' });
      if (!response.ok) throw new Error(`the controller answered ${response.status} for v1/cert.pem; it may have no sealing key yet`);
      const pem = await response.text();
      if (certificate && certificate.pem === pem) return certificate;
      const info = readCertificate(certificateDer(pem));
      const key = await importSealingKey(info.spki);
      certificate = { pem, info, key };
      $('cert-fingerprint').textContent = await fingerprintOf(info, sha256);
      $('cert-expiry').textContent = info.notAfter.toISOString().replace('.000Z', 'Z');
      const notes: string[] = [];
      const validity = validityWarning(info, new Date());
      if (validity?.kind === 'expired') notes.push('This certificate has expired: kubeseal refuses it, and the controller should have renewed its key. Ask its operators.');
      if (validity?.kind === 'expiring') notes.push(`This certificate expires in ${validity.days} day${validity.days === 1 ? '' : 's'}. Values sealed with it still open afterwards, but new ones should use the renewed key.`);
      if (firstPem !== undefined && firstPem !== pem) notes.push('The controller renewed its key since this page loaded: the newest certificate is shown above and seals from now on.');
      firstPem ??= pem;
      warning.textContent = notes.join(' ');
      warning.hidden = notes.length === 0;
      return certificate;
    } catch (error) {
      certificate = undefined;
      $('cert-fingerprint').textContent = 'unavailable';
      $('cert-expiry').textContent = 'unavailable';
      warning.textContent = `Cannot use the controller's certificate: ${errorMessage(error)}`;
      warning.hidden = false;
      return undefined;
    }
  }

  async function seal(): Promise<void> {
    const sealError = $('seal-error');
    sealError.textContent = '';
    const problems = showProblems(true);
    if (problems.size > 0) {
      sealError.textContent = `${[...problems.values()][0]}.`;
      const first = document.getElementById([...problems.keys()][0] as string);
      first?.focus();
      return;
    }
    // Fetched again: sealing always uses the controller's newest certificate.
    const cert = await loadCertificate();
    if (!cert) {
      sealError.textContent = 'Cannot seal without the controller\'s certificate.';
      return;
    }
    if (validityWarning(cert.info, new Date())?.kind === 'expired') {
      sealError.textContent = 'The certificate has expired; kubeseal refuses to seal with it, and so does this page.';
      return;
    }
    try {
      setOutput(await sealForm(state(), { publicKey: cert.key, random }));
      outputBox.focus();
    } catch (error) {
      sealError.textContent = errorMessage(error);
    }
  }

  const form = $<HTMLFormElement>('form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void seal();
  });
  form.addEventListener('input', (event) => {
    const target = event.target as HTMLElement;
    if (target.id) touched.add(target.id);
    refresh();
  });
  form.addEventListener('change', refresh);
  form.addEventListener('focusout', (event) => {
    const target = event.target as HTMLElement;
    if (target.id && (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement)) {
      touched.add(target.id);
      showProblems(false);
    }
  });
  mode.addEventListener('change', () => {
    touched = new Set();
    refresh();
  });
  $('add-row').addEventListener('click', () => {
    addRow().key.focus();
    refresh();
  });
  $('add-template').addEventListener('click', () => {
    addTemplate().key.focus();
    refresh();
  });
  $('cert-reload').addEventListener('click', () => void loadCertificate());
  $('copy').addEventListener('click', async () => {
    const status = $('copy-status');
    try {
      await navigator.clipboard.writeText(output);
      status.textContent = 'Copied.';
    } catch {
      outputBox.select();
      status.textContent = 'Select-all done: press Ctrl+C (or Cmd+C) to copy.';
    }
  });
  $('download').addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([output], { type: 'text/plain' }));
    const link = element('a', { href: url, download: downloadName(state()) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });

  addRow();
  layout();
  if (!window.isSecureContext || !globalThis.crypto?.subtle) {
    // Browsers offer WebCrypto only to secure contexts: https, or http on localhost.
    const warning = $('cert-warning');
    warning.textContent = 'This browser seals only on a secure page: open it through kubectl port-forward or kubectl proxy (http://127.0.0.1/…, http://localhost/…) or over HTTPS.';
    warning.hidden = false;
    ($('seal') as HTMLButtonElement).disabled = true;
    return;
  }
  void loadCertificate();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
