/**
 * Routes requests by method and path pattern (`/iam/users/{username}`) to handlers. Path
 * parameters are URL-decoded; a path that matches no route gets 404, a known path with another
 * method 405.
 */
import type { Method } from '../shared/protocol/frames';
import { Status } from '../shared/protocol/status';
import { errorResponse, type RpcRequest, type RpcResponse } from './channel/rpc-peer';

/** Thrown by a handler to answer with an error status (400, 403, 404, 409, 429, …). */
export class RouteError extends Error {
  override name = 'RouteError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type RouteHandler<C> = (params: Record<string, string>, body: unknown, context: C) => Promise<RpcResponse> | RpcResponse;

interface Route<C> {
  method: Method;
  pattern: string;
  segments: string[];
  handler: RouteHandler<C>;
}

export class RpcRouter<C> {
  private readonly routes: Route<C>[] = [];

  on(method: Method, pattern: string, handler: RouteHandler<C>): this {
    this.routes.push({ method, pattern, segments: pattern.split('/').slice(1), handler });
    return this;
  }

  async dispatch(request: RpcRequest, context: C): Promise<RpcResponse> {
    const parts = request.path.split('/').slice(1);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      try {
        return await route.handler(params, request.body, context);
      } catch (err) {
        if (err instanceof RouteError) return errorResponse(err.status, err.code, err.message);
        throw err;
      }
    }
    return pathMatched
      ? errorResponse(Status.MethodNotAllowed, 'method-not-allowed', `${request.method} is not allowed on ${request.path}`)
      : errorResponse(Status.NotFound, 'not-found', `no such resource: ${request.path}`);
  }
}

function match(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if (seg.startsWith('{') && seg.endsWith('}')) {
      try {
        params[seg.slice(1, -1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (seg !== part) {
      return undefined;
    }
  }
  return params;
}
