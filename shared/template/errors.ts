/** An error from a template function, reported as "error calling NAME: MESSAGE"; MESSAGE holds no data. */
export class FuncError extends Error {}
