// The member list beside the messages: it starts from the server's members notice (protocol
// §6.6, possibly in several parts) and follows joined/left. Names go in with textContent only.

import { byId, el } from './dom';
import { initial, nameHue, visibleText } from './format';

/** A hostile server cannot make the list grow past this (the most members a server allows). */
const MAX_NAMES = 100000;
/** Past this many, the list shows the first ones and how many more: a huge room stays usable. */
const MAX_SHOWN = 500;

export class MemberList {
  private readonly root = byId('members', HTMLElement);
  private readonly count = byId('members-count', HTMLSpanElement);
  private readonly list = byId('member-list', HTMLUListElement);
  private readonly note = byId('members-note', HTMLParagraphElement);

  private readonly names = new Set<string>();
  private self = '';
  private host = '';
  /** Parts of the latest list that arrived, and how many it has (0: none yet). */
  private partsSeen = new Set<number>();
  private parts = 0;
  /** At most one render a frame, however many parts and joins arrive (a server may send many). */
  private renderQueued = false;

  /** A new room: empty until the server's list arrives. */
  reset(self: string): void {
    this.names.clear();
    this.self = self;
    this.host = '';
    this.partsSeen = new Set();
    this.parts = 0;
    this.render();
  }

  private update(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  /** One part of the server's list: its names are added as they come (parts can be lost). */
  members(users: readonly string[], host: string, part: number, parts: number): void {
    // Another count, or a part seen already, is a newer list: count its parts afresh.
    if (parts !== this.parts || this.partsSeen.has(part)) {
      this.parts = parts;
      this.partsSeen = new Set();
    }
    this.partsSeen.add(part);
    if (host !== '') this.host = host;
    for (const user of users) this.add(user);
    this.update();
  }

  joined(user: string): void {
    this.add(user);
    this.update();
  }

  left(user: string): void {
    if (this.names.delete(user)) this.update();
  }

  private add(user: string): void {
    if (this.names.size < MAX_NAMES) this.names.add(user);
  }

  private render(): void {
    const sorted = [...this.names].sort((a, b) => a.localeCompare(b));
    this.count.textContent = this.parts === 0 && sorted.length === 0 ? '' : String(sorted.length);
    this.list.replaceChildren(
      ...sorted.slice(0, MAX_SHOWN).map((name) => {
        const avatar = el('span', { class: 'member-avatar', 'aria-hidden': 'true' }, initial(name));
        avatar.style.setProperty('--hue', String(nameHue(name)));
        return el(
          'li',
          { class: 'member', 'data-name': name },
          avatar,
          el('span', { class: 'member-name', title: visibleText(name) }, visibleText(name)),
          name === this.self ? el('span', { class: 'member-you' }, '(you)') : undefined,
          name === this.host ? el('span', { class: 'badge' }, 'host') : undefined,
        );
      }),
    );
    const complete = this.parts > 0 && this.partsSeen.size === this.parts;
    const notes: string[] = [];
    if (sorted.length > MAX_SHOWN) notes.push(`… and ${sorted.length - MAX_SHOWN} more.`);
    if (this.parts === 0) notes.push('Waiting for the server’s list of members…');
    else if (!complete) {
      notes.push(`Part of the list was lost on the way (${this.partsSeen.size} of ${this.parts} parts arrived); joins and leaves still show.`);
    }
    this.note.hidden = notes.length === 0;
    this.note.textContent = notes.join(' ');
    this.root.dataset['complete'] = String(complete);
  }
}
