// A minimal typed event emitter (no Node APIs), so that session events are checked by the compiler.

export type Listener<T> = (value: T) => void;

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const set = (this.listeners[event] ??= new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const listener of [...(this.listeners[event] ?? [])]) listener(value);
  }

  protected removeAllListeners(): void {
    this.listeners = {};
  }
}
