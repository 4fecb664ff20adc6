// Bytes on a client connection that do not parse (Node's 'clientError'): a
// malformed head, one too large, one not sent in time. The answer is a
// problem written on the raw socket, after whatever answers are still owed
// on that connection, and then the connection closes.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Problem, rawProblemResponse } from '../problem.ts';

type NodeClientError = Error & { code?: string };

function answerTo(error: NodeClientError): Problem {
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = tooLarge
    ? 'request headers are too large'
    : status === 408
      ? 'the request was not received in time'
      : 'malformed HTTP request';
  return { status, code: 'CUTOVER_ERR_BAD_REQUEST', detail };
}

/**
 * Bytes that do not parse can follow complete requests on one connection
 * (pipelining, RFC 9112 §9.3.2): those requests are answered first, in
 * order, and the 400 goes after the last of them, never into the middle of
 * an answer; then the connection closes, as nginx does. Node keeps the
 * answer being written as `socket._httpMessage`, and hands the socket to
 * the next queued answer before the previous one emits `close`.
 */
function closeAfterAnswers(socket: Socket, problem: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (current && !current.req.complete) {
    // The bytes that failed are this request's own body: it can never be
    // whole, so its exchange is cut (the 400 only while nothing was answered).
    if (current.headersSent) socket.destroy();
    else socket.end(problem);
    return;
  }
  if (current) {
    // Node detaches a finished answer (and attaches the next queued one) before its `close`.
    current.once('close', () => closeAfterAnswers(socket, problem));
    return;
  }
  socket.end(problem);
}

export class ClientErrors {
  /** Sockets whose bytes stopped parsing: closed once their answers in progress are out. */
  readonly #unparsable = new WeakSet<Socket>();
  readonly #answered: (status: number) => void;

  /** `answered` counts each answer (the gateway's unrouted figure). */
  constructor(answered: (status: number) => void) {
    this.#answered = answered;
  }

  handle(error: NodeClientError, socket: Socket): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // The parser stays in error: more bytes from this socket report it again.
    if (this.#unparsable.has(socket)) return;
    this.#unparsable.add(socket);
    const answer = answerTo(error);
    this.#answered(answer.status);
    closeAfterAnswers(socket, rawProblemResponse(answer));
  }
}
