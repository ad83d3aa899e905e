// The start screen: create or join a room, with the server, a username, a room and a password;
// under "Advanced", the server's key fingerprint (pinned out of band) and the choice of the old
// unencrypted protocol. Neither of those two is remembered: each connection asks for them anew.

import { parseServerAddress } from '../protocol/address';
import { normaliseFingerprint } from '../protocol/fingerprint';
import { MAX_PASSWORD_BYTES } from '../protocol/limits';
import { checkName, describeNameProblem } from '../protocol/names';
import { isWellFormed, utf8Length } from '../protocol/utf8';
import type { ApiError, ConnectRequest, FormField, Operation } from '../shared/api';
import { byId, el } from './dom';

const STORAGE_KEY = 'libchat.start';

export class StartView {
  private readonly root = byId('start-view', HTMLElement);
  private readonly form = byId('start-form', HTMLFormElement);
  private readonly create = byId('mode-create', HTMLInputElement);
  private readonly join = byId('mode-join', HTMLInputElement);
  private readonly hint = byId('mode-hint', HTMLParagraphElement);
  private readonly passwordHint = byId('password-hint', HTMLParagraphElement);
  private readonly error = byId('form-error', HTMLDivElement);
  private readonly submit = byId('submit', HTMLButtonElement);
  private readonly advanced = byId('advanced', HTMLDetailsElement);
  private readonly fields: Record<FormField, HTMLInputElement> = {
    server: byId('server', HTMLInputElement),
    username: byId('username', HTMLInputElement),
    room: byId('room', HTMLInputElement),
    password: byId('password', HTMLInputElement),
    serverKey: byId('server-key', HTMLInputElement),
    allowPlaintext: byId('allow-plaintext', HTMLInputElement),
    acceptUnpinned: byId('accept-unpinned', HTMLInputElement),
  };
  private busy = false;

  constructor(private readonly onSubmit: (request: ConnectRequest) => Promise<ApiError | undefined>) {
    this.restore();
    this.create.addEventListener('change', () => this.updateMode());
    this.join.addEventListener('change', () => this.updateMode());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submitForm();
    });
    for (const input of Object.values(this.fields)) {
      input.addEventListener('input', () => this.clearFieldError(input));
      input.addEventListener('change', () => this.clearFieldError(input));
    }
    this.updateMode();
  }

  show(focus = true): void {
    this.root.hidden = false;
    document.title = 'libchat';
    this.fields.password.value = '';
    if (focus) this.firstEmptyField().focus();
  }

  hide(): void {
    this.root.hidden = true;
  }

  private get operation(): Operation {
    return this.join.checked ? 'join' : 'create';
  }

  private updateMode(): void {
    const creating = this.operation === 'create';
    this.submit.textContent = creating ? 'Create room' : 'Join room';
    this.hint.textContent = creating
      ? 'Start a new room and be its host. The room closes when you leave it.'
      : 'Enter a room someone has already created.';
    this.passwordHint.textContent = creating
      ? 'Anyone joining will need it. Leave empty for an open room.'
      : 'Only if the room has one.';
    this.fields.password.autocomplete = creating ? 'new-password' : 'current-password';
    this.hideError();
  }

  private async submitForm(): Promise<void> {
    if (this.busy) return;
    this.hideError();
    const request: ConnectRequest = {
      operation: this.operation,
      server: this.fields.server.value.trim(),
      username: this.fields.username.value,
      room: this.fields.room.value,
      password: this.fields.password.value,
      serverKey: this.fields.serverKey.value.trim(),
      allowPlaintext: this.fields.allowPlaintext.checked,
      acceptUnpinned: this.fields.acceptUnpinned.checked,
    };
    const problem = this.validate(request);
    if (problem) {
      this.showError(problem);
      return;
    }
    this.save(request);
    this.setBusy(true);
    const error = await this.onSubmit(request);
    this.setBusy(false);
    if (error) this.showError(error);
  }

  private validate(request: ConnectRequest): ApiError | undefined {
    const address = parseServerAddress(request.server);
    if (typeof address === 'string') return { code: 'invalid_input', message: address, field: 'server' };
    const user = checkName(request.username);
    if (user) return { code: 'invalid_input', message: describeNameProblem('name', user), field: 'username' };
    const room = checkName(request.room);
    if (room) return { code: 'invalid_input', message: describeNameProblem('room name', room), field: 'room' };
    if (!isWellFormed(request.password) || utf8Length(request.password) > MAX_PASSWORD_BYTES) {
      return { code: 'invalid_input', message: `The password can be at most ${MAX_PASSWORD_BYTES} bytes.`, field: 'password' };
    }
    if (request.serverKey !== '') {
      if (request.allowPlaintext) {
        return {
          code: 'invalid_input',
          message: 'A server key fingerprint can only be checked on an encrypted connection: clear it, or untick “Allow unencrypted connection”.',
          field: 'serverKey',
        };
      }
      if (normaliseFingerprint(request.serverKey) === undefined) {
        return {
          code: 'invalid_input',
          message: 'A server key fingerprint is “SHA256:” followed by 43 letters, digits, “+” or “/”, as chat-server prints it when it starts.',
          field: 'serverKey',
        };
      }
    }
    return undefined;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.form.setAttribute('aria-busy', String(busy));
    this.submit.disabled = busy;
    const creating = this.operation === 'create';
    this.submit.textContent = busy ? (creating ? 'Creating…' : 'Joining…') : creating ? 'Create room' : 'Join room';
  }

  private showError(error: ApiError): void {
    const details = (error.details ?? []).map((text) => el('p', { class: 'form-error-detail' }, ...withFingerprints(text)));
    this.error.replaceChildren(el('div', { class: 'form-error-body' }, el('p', { class: 'form-error-message' }, error.message), ...details));
    this.error.dataset['code'] = error.code;
    this.error.hidden = false;
    if (error.field) {
      if (error.field === 'serverKey' || error.field === 'allowPlaintext' || error.field === 'acceptUnpinned') this.advanced.open = true;
      const input = this.fields[error.field];
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-errormessage', 'form-error');
      input.focus({ preventScroll: true });
      if (input.type !== 'checkbox') input.select();
    }
    // The error sits by the button; on a short window, keep it in sight rather than the field.
    this.error.scrollIntoView({ block: 'nearest' });
  }

  private hideError(): void {
    this.error.hidden = true;
    this.error.replaceChildren();
    delete this.error.dataset['code'];
    for (const input of Object.values(this.fields)) this.clearFieldError(input);
  }

  private clearFieldError(input: HTMLInputElement): void {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-errormessage');
  }

  private firstEmptyField(): HTMLInputElement {
    for (const name of ['server', 'username', 'room'] as const) {
      if (this.fields[name].value === '') return this.fields[name];
    }
    return this.operation === 'create' ? this.create : this.join;
  }

  /** The server and the name are remembered for next time; passwords never are. */
  private save(request: ConnectRequest): void {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ server: request.server, username: request.username }));
    } catch {
      /* storage may be off */
    }
  }

  private restore(): void {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as { server?: unknown; username?: unknown };
      if (typeof saved.server === 'string' && saved.server) this.fields.server.value = saved.server;
      if (typeof saved.username === 'string') this.fields.username.value = saved.username;
    } catch {
      /* nothing saved */
    }
  }
}

const FINGERPRINT = /SHA256:[A-Za-z0-9+/]{43}/g;

/** Text with the key fingerprints in it set apart (as code), so that they can be compared at a glance. */
function withFingerprints(text: string): (string | HTMLElement)[] {
  const parts: (string | HTMLElement)[] = [];
  let at = 0;
  for (const match of text.matchAll(FINGERPRINT)) {
    parts.push(text.slice(at, match.index));
    parts.push(el('code', { class: 'fingerprint' }, match[0]));
    at = match.index + match[0].length;
  }
  parts.push(text.slice(at));
  return parts.filter((p) => p !== '');
}
