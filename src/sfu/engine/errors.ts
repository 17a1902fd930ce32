/** The requested feature or codec is not supported. */
export class UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedError';
  }
}

/** The method was called on a closed object or in a state that does not allow it. */
export class InvalidStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/** Rebuilds an error of the right class from its name and message (used across the IPC channel). */
export function errorFromWire(name: string, message: string): Error {
  switch (name) {
    case 'TypeError':
      return new TypeError(message);
    case 'UnsupportedError':
      return new UnsupportedError(message);
    case 'InvalidStateError':
      return new InvalidStateError(message);
    default:
      return new Error(message);
  }
}
