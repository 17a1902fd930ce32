// Turning one text frame into a checked message. Total: every input yields a value, never a throw.
import type { z } from 'zod';
import {
  type ErrorCode,
  notificationSchema,
  requestIdSchema,
  requestSchema,
  responseSchema,
  type SignalingNotification,
  type SignalingRequest,
  type SignalingResponse,
} from './protocol.js';

export type ParsedFrame =
  | { kind: 'request'; message: SignalingRequest }
  | { kind: 'response'; message: SignalingResponse }
  | { kind: 'notification'; message: SignalingNotification }
  | {
      kind: 'error';
      code: Extract<ErrorCode, 'bad_json' | 'bad_request'>;
      id: number | null;
      message: string;
    };

export function parseFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', code: 'bad_json', id: null, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'error', code: 'bad_json', id: null, message: 'frame is not a JSON object' };
  }
  const object = value as Record<string, unknown>;
  switch (object.type) {
    case 'request': {
      const parsed = requestSchema.safeParse(object);
      if (parsed.success) return { kind: 'request', message: parsed.data };
      return badRequest(object, parsed.error);
    }
    case 'response': {
      const parsed = responseSchema.safeParse(object);
      if (parsed.success) return { kind: 'response', message: parsed.data };
      return badRequest(object, parsed.error);
    }
    case 'notification': {
      const parsed = notificationSchema.safeParse(object);
      if (parsed.success)
        return { kind: 'notification', message: { ...parsed.data, data: parsed.data.data } };
      return badRequest(object, parsed.error);
    }
    default:
      return badRequest(object, null);
  }
}

function badRequest(object: Record<string, unknown>, error: z.ZodError | null): ParsedFrame {
  const id = requestIdSchema.safeParse(object.id);
  const message = error === null ? 'type must be request, response or notification' : describeIssues(error);
  return { kind: 'error', code: 'bad_request', id: id.success ? id.data : null, message };
}

/** A one-line summary of a schema failure: the first few issues with their paths. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts: string[] = [];
  for (const issue of error.issues.slice(0, max)) {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    parts.push(`${path}: ${issue.message}`);
  }
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}
