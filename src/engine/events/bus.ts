/**
 * The daemon's event stream, in the Engine API's `/events` shape. Subscribers get every
 * event published after they subscribe; a short history serves `--since`.
 */
export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

export type Listener = (e: EngineEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly history: EngineEvent[] = [];

  constructor(private readonly keep = 1000) {}

  publish(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nanos = BigInt(Date.now()) * 1_000_000n;
    const e: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nanos / 1_000_000_000n),
      timeNano: Number(nanos),
    };
    // Older clients read the legacy top-level fields for containers and images.
    if (type === 'container' || type === 'image') {
      e.status = action;
      e.id = id;
      if (attributes.image !== undefined) e.from = attributes.image;
    }
    this.history.push(e);
    if (this.history.length > this.keep) this.history.shift();
    for (const l of this.listeners) l(e);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  since(timeNano: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= timeNano);
  }
}
