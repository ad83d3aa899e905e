// The chat view: the messages since joining, the composer, notices, the connection's security
// (a lock with the server's key fingerprint, or an "unencrypted" warning), and the banner when the
// session ends. Everything others sent is inserted with textContent.

import { utf8Length } from '../protocol/utf8';
import type { ChatApi, ChatEvent, EndReason, PinOutcome, RoomInfo, Security } from '../shared/api';
import { byId, el } from './dom';
import { fullTime, initial, nameHue, shortTime, visibleText } from './format';
import { MemberList } from './member-list';

/** Messages from one sender this close together are grouped under one name. */
const GROUP_MS = 5 * 60 * 1000;
/** Within this many pixels of the bottom, the view counts as pinned to the bottom. */
const PINNED_SLACK = 48;
/** The oldest items go once there are more than this. */
const MAX_ITEMS = 5000;

const END_TITLES: Record<EndReason, string> = {
  left: 'You left the room',
  room_closed: 'The room was closed',
  timeout: 'You were removed from the room',
  server_shutdown: 'The server shut down',
  server_silent: 'The server stopped answering',
  key_spent: 'Session key used up',
  bridge_lost: 'Connection lost',
};

const PIN_TEXT: Record<PinOutcome, string> = {
  known: 'It is the key remembered for this server.',
  first_contact: 'First connection to this server: its key is remembered from now on.',
  given: 'It matches the fingerprint you entered.',
  replaced: 'It matches the fingerprint you entered, and replaced the key remembered before.',
  not_saved: 'First connection to this server; its key could not be remembered.',
  rotated: 'It is the key this server announced for its key rotation; it replaced the key remembered before.',
  unchecked: 'It was not checked against a remembered key.',
};

type NoticeKind = 'info' | 'join' | 'leave' | 'warning' | 'error' | 'security';

export class ChatView {
  private readonly root = byId('chat-view', HTMLDivElement);
  private readonly roomName = byId('room-name', HTMLHeadingElement);
  private readonly roomMeta = byId('room-meta', HTMLParagraphElement);
  private readonly status = byId('status', HTMLParagraphElement);
  private readonly statusText = byId('status-text', HTMLSpanElement);
  private readonly leaveButton = byId('leave', HTMLButtonElement);
  private readonly list = byId('messages', HTMLOListElement);
  private readonly newMessages = byId('new-messages', HTMLButtonElement);
  private readonly banner = byId('banner', HTMLElement);
  private readonly bannerTitle = byId('banner-title', HTMLHeadingElement);
  private readonly bannerText = byId('banner-text', HTMLParagraphElement);
  private readonly backButton = byId('back', HTMLButtonElement);
  private readonly composer = byId('composer', HTMLFormElement);
  private readonly input = byId('message-input', HTMLTextAreaElement);
  private readonly sendButton = byId('send', HTMLButtonElement);
  private readonly composerError = byId('composer-error', HTMLParagraphElement);
  private readonly security = byId('security', HTMLDivElement);
  private readonly securityBadge = byId('security-badge', HTMLButtonElement);
  private readonly securityLabel = byId('security-label', HTMLSpanElement);
  private readonly securityTipTitle = byId('security-tip-title', HTMLParagraphElement);
  private readonly securityTipText = byId('security-tip-text', HTMLParagraphElement);
  private readonly securityTipKey = byId('security-tip-key', HTMLParagraphElement);
  private readonly securityTipPin = byId('security-tip-pin', HTMLParagraphElement);
  private readonly members = new MemberList();

  private info: RoomInfo | undefined;
  private active = false;
  private sending = false;
  private unseen = 0;
  private last: { from: string; time: number } | undefined;

  constructor(
    private readonly api: ChatApi,
    private readonly onExit: () => void,
  ) {
    api.onEvent((event) => this.handle(event));
    this.leaveButton.addEventListener('click', () => void this.leave());
    this.backButton.addEventListener('click', () => this.exit());
    this.newMessages.addEventListener('click', () => {
      this.scrollToBottom(true);
      this.input.focus();
    });
    this.list.addEventListener('scroll', () => {
      if (this.isPinned()) this.clearUnseen();
    });
    this.composer.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        void this.send();
      }
    });
    this.input.addEventListener('input', () => this.inputChanged());
    // The tooltip shows on hover and focus (CSS); a click keeps it open (touch screens), Escape
    // hides it until the pointer or focus leaves (WCAG 1.4.13).
    this.securityBadge.addEventListener('click', () => {
      const open = this.security.dataset['open'] !== 'true';
      this.security.dataset['open'] = String(open);
      delete this.security.dataset['dismissed'];
    });
    this.security.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      this.security.dataset['dismissed'] = 'true';
      this.security.dataset['open'] = 'false';
    });
    const undismiss = (): void => {
      delete this.security.dataset['dismissed'];
    };
    this.security.addEventListener('mouseleave', undismiss);
    this.security.addEventListener('focusout', undismiss);
  }

  open(info: RoomInfo): void {
    this.info = info;
    this.active = true;
    this.last = undefined;
    this.unseen = 0;
    this.list.replaceChildren();
    this.members.reset(info.username);
    this.roomName.textContent = visibleText(info.room);
    this.roomMeta.replaceChildren(
      'You are ',
      el('strong', {}, visibleText(info.username)),
      ...(info.host ? [' · ', el('span', { class: 'badge' }, 'host')] : []),
      ` · ${info.server}`,
    );
    this.input.placeholder = `Message #${visibleText(info.room)}`;
    this.input.value = '';
    this.input.disabled = false;
    this.sendButton.disabled = false;
    this.composerError.textContent = '';
    this.composer.hidden = false;
    this.banner.hidden = true;
    this.leaveButton.hidden = false;
    this.newMessages.hidden = true;
    this.setStatus('connecting', 'Connecting…');
    this.showSecurity(info.security);
    document.title = `#${visibleText(info.room)} · libchat`;
    const now = Date.now();
    this.addNotice(
      info.created
        ? `You created #${info.room}. You are its host: the room stays open while you are in it.`
        : `You joined #${info.room}. Messages sent from now on appear here.`,
      'info',
      now,
    );
    for (const notice of info.notices) this.addNotice(notice.text, notice.kind, now);
    this.root.hidden = false;
    this.resizeInput();
    this.input.focus();
  }

  hide(): void {
    this.root.hidden = true;
  }

  private handle(event: ChatEvent): void {
    if (!this.active) return;
    switch (event.type) {
      case 'message':
        this.addMessage(event.from, event.text, event.time, false);
        return;
      case 'member':
        this.setStatus('online', 'Connected');
        return;
      case 'joined':
        this.members.joined(event.user);
        this.addNotice(`${event.user} joined the room`, 'join', event.time);
        return;
      case 'left':
        this.members.left(event.user);
        this.addNotice(leftText(event.user, event.reason), 'leave', event.time);
        return;
      case 'members':
        this.members.members(event.users, event.host, event.part, event.parts);
        return;
      case 'refused':
        this.addNotice(event.message, 'error', event.time);
        return;
      case 'warning':
        this.addNotice(event.message, 'warning', event.time);
        return;
      case 'ended':
        this.end(event.reason, event.message);
        return;
    }
  }

  private async send(): Promise<void> {
    if (!this.active || this.sending) return;
    const text = this.input.value.replace(/^(?:\r?\n)+|\s+$/g, '');
    if (text === '') return;
    const limit = this.info?.maxTextBytes ?? 0;
    if (utf8Length(text) > limit) {
      this.inputChanged();
      return;
    }
    this.sending = true;
    const result = await this.api.send(text);
    this.sending = false;
    if (!result.ok) {
      this.composerError.textContent = result.error.message;
      return;
    }
    this.input.value = '';
    this.inputChanged();
    this.addMessage(this.info?.username ?? '', text, result.value.time, true);
  }

  private async leave(): Promise<void> {
    this.active = false;
    await this.api.leave();
    this.exit();
  }

  private exit(): void {
    this.active = false;
    this.hide();
    this.onExit();
  }

  private end(reason: EndReason, message: string): void {
    this.active = false;
    if (reason === 'left') {
      this.exit();
      return;
    }
    this.setStatus('offline', 'Disconnected');
    this.addNotice(END_TITLES[reason], 'error', Date.now());
    this.bannerTitle.textContent = END_TITLES[reason];
    this.bannerText.textContent = message;
    this.banner.dataset['reason'] = reason;
    this.banner.hidden = false;
    this.composer.hidden = true;
    this.leaveButton.hidden = true;
    this.backButton.focus();
  }

  private showSecurity(security: Security): void {
    this.security.dataset['state'] = security.encrypted ? 'encrypted' : 'unencrypted';
    this.security.dataset['open'] = 'false';
    delete this.security.dataset['dismissed'];
    if (security.encrypted) {
      this.securityLabel.textContent = 'Encrypted';
      this.securityTipTitle.textContent = 'Encrypted connection';
      this.securityTipText.textContent =
        'Your messages, your password and your token are encrypted between this app and the server, which can read them.';
      this.securityTipKey.replaceChildren('Server key ', el('code', {}, security.fingerprint));
      this.securityTipPin.textContent = PIN_TEXT[security.pin];
    } else {
      this.securityLabel.textContent = 'Not encrypted';
      this.securityTipTitle.textContent = 'Unencrypted connection';
      this.securityTipText.textContent =
        'Anyone on the network can read and change your messages, and read the room password. Use it only on networks you trust.';
      this.securityTipKey.replaceChildren();
      this.securityTipPin.textContent = 'To encrypt, connect again without “Allow unencrypted connection”.';
    }
  }

  private setStatus(state: 'connecting' | 'online' | 'offline', text: string): void {
    this.status.dataset['state'] = state;
    this.statusText.textContent = text;
  }

  private inputChanged(): void {
    this.resizeInput();
    const limit = this.info?.maxTextBytes ?? 0;
    const bytes = utf8Length(this.input.value);
    if (bytes > limit) {
      this.composerError.textContent = `Too long to send: ${bytes} of at most ${limit} bytes.`;
      this.sendButton.disabled = true;
      this.input.setAttribute('aria-invalid', 'true');
    } else {
      this.composerError.textContent = bytes > limit * 0.9 ? `${limit - bytes} bytes left` : '';
      this.sendButton.disabled = false;
      this.input.removeAttribute('aria-invalid');
    }
  }

  private resizeInput(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  private addMessage(from: string, text: string, time: number, own: boolean): void {
    const continued = this.last !== undefined && this.last.from === from && time - this.last.time < GROUP_MS;
    this.last = { from, time };
    const name = visibleText(from);
    const hue = String(nameHue(from));
    const stamp = el('time', { datetime: new Date(time).toISOString(), title: fullTime(time) }, shortTime(time));
    const meta = el(
      'div',
      { class: continued ? 'meta visually-hidden' : 'meta' },
      el('span', { class: 'sender' }, own ? 'You' : name),
      ' ',
      stamp,
    );
    const bubble = el('div', { class: 'bubble', dir: 'auto' }, visibleText(text));
    const avatar = own ? undefined : el('span', { class: 'avatar', 'aria-hidden': 'true' }, continued ? '' : initial(from));
    const item = el(
      'li',
      { class: `msg ${own ? 'own' : 'other'}${continued ? ' continued' : ''}`, 'data-from': from },
      avatar,
      el('div', { class: 'body' }, meta, bubble),
    );
    if (avatar) avatar.style.setProperty('--hue', hue);
    if (!own) item.style.setProperty('--hue', hue);
    this.append(item, own);
  }

  private addNotice(text: string, kind: NoticeKind, time: number): void {
    this.last = undefined;
    const item = el(
      'li',
      { class: `notice notice-${kind}` },
      el('span', { class: 'notice-text' }, visibleText(text)),
      el('time', { datetime: new Date(time).toISOString(), title: fullTime(time) }, shortTime(time)),
    );
    this.append(item, false);
  }

  private append(item: HTMLLIElement, own: boolean): void {
    const pinned = this.isPinned();
    this.list.append(item);
    while (this.list.childElementCount > MAX_ITEMS) this.list.firstElementChild?.remove();
    if (own || pinned) {
      this.scrollToBottom(false);
    } else {
      this.unseen++;
      this.newMessages.textContent = this.unseen === 1 ? '1 new message' : `${this.unseen} new messages`;
      this.newMessages.hidden = false;
    }
  }

  private isPinned(): boolean {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight <= PINNED_SLACK;
  }

  private scrollToBottom(smooth: boolean): void {
    this.list.scrollTo({ top: this.list.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    this.clearUnseen();
  }

  private clearUnseen(): void {
    this.unseen = 0;
    this.newMessages.hidden = true;
  }
}

function leftText(user: string, reason: string): string {
  switch (reason) {
    case 'timeout':
      return `${user} left (timed out)`;
    case 'unreachable':
      return `${user} left (could not be reached)`;
    case 'key_limit':
      return `${user} left (their session key was used up)`;
    default:
      return `${user} left the room`;
  }
}
