// The UI's entry point: the start screen, then the chat view, over the ChatApi.

import type { ApiError, ConnectRequest } from '../shared/api';
import { createApi } from './api-client';
import { ChatView } from './chat-view';
import { StartView } from './start-view';

function main(): void {
  const api = createApi();
  let chat: ChatView;
  const start = new StartView(async (request: ConnectRequest): Promise<ApiError | undefined> => {
    const result = await api.connect(request);
    if (!result.ok) return result.error;
    start.hide();
    chat.open(result.value);
    return undefined;
  });
  chat = new ChatView(api, () => start.show());
  start.show();
  document.documentElement.dataset['ready'] = 'true';
}

main();
