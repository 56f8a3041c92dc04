// Go text/template's executor (text/template/exec.go and funcs.go) over the value model of
// value.ts. Every step is counted and all output is measured, so a hostile template ends in a
// TemplateLimitError instead of stalling or exhausting memory. Execution errors keep Go's shape
// ("template: NAME:LINE:COL: executing "NAME" at <NODE>: ...") but never carry a data value: where
// Go prints a value, this prints its type.
import { WidthLimit, compareGoStrings, formatValue, sprint, sprintf, sprintln } from './fmt.ts';
import type { ArgNode, CommandNode, ControlNode, Node, NumberValue, PipeNode, Tree } from './parse.ts';
import { GoInt, GoMap, GoSemver, GoSlice, GoTime, MISSING, decodeRune, goToText, int, isPrint, isTrue, kindName, typeName } from './value.ts';
import type { AnyValue, GoValue } from './value.ts';

export class TemplateExecError extends Error {}

/** A render limit was hit (steps or bytes); the message names the limit, never the data. */
export class TemplateLimitError extends Error {
  readonly limit: 'steps' | 'bytes' | 'time';
  constructor(limit: 'steps' | 'bytes' | 'time', message: string) {
    super(message);
    this.limit = limit;
  }
}

import { FuncError } from './errors.ts';
import { methodOf } from './methods.ts';

export { FuncError };

/** Parameter types of template functions, named as Go names them in its errors. */
export type ParamType =
  | 'interface {}' | 'reflect.Value' | 'string' | 'int' | 'int64' | 'float64' | 'bool' | 'uint8' | 'uint32'
  | '[]interface {}' | '[]string' | 'map[string]interface {}' | 'time.Time';

export interface GoFunc {
  params: ParamType[];
  variadic?: ParamType;
  fn: (args: AnyValue[], ctx: ExecContext) => AnyValue;
}

export type FuncMap = Record<string, GoFunc>;

/** Shared by one SealedSecret's renders: the budget spans all its keys. */
export interface Budget {
  steps: number;
  bytes: number;
  readonly maxSteps: number;
  readonly maxBytes: number;
  /** Returns true when the wall-clock budget is spent; checked every 1024 steps. */
  readonly expired: () => boolean;
}

export interface ExecContext {
  budget: Budget;
  /** Charge n steps of work (a function that loops n times charges n). */
  charge(n: number): void;
  /** Check that a value about to be built is within the byte budget. */
  checkSize(n: number): void;
}

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

interface Var {
  name: string;
  value: AnyValue;
}

const MAX_DEPTH = 10000;

export function execute(
  name: string,
  trees: Map<string, Tree>,
  source: string,
  data: GoValue,
  funcs: FuncMap,
  budget: Budget,
): string {
  const out: string[] = [];
  let curPos = 0;
  let curNodeText = '';
  let curTree = name;
  let depth = 0;

  const ctx: ExecContext = {
    budget,
    charge(n: number): void {
      budget.steps += n;
      if (budget.steps > budget.maxSteps) throw new TemplateLimitError('steps', `template rendering exceeded ${budget.maxSteps} steps`);
      if ((budget.steps & 1023) < n || n > 1023) {
        if (budget.expired()) throw new TemplateLimitError('time', 'template rendering exceeded its time limit');
      }
    },
    checkSize(n: number): void {
      if (n > budget.maxBytes) throw new TemplateLimitError('bytes', `template value exceeds ${budget.maxBytes} bytes`);
    },
  };

  const location = (): string => {
    const before = source.slice(0, curPos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? curPos : curPos - nl - 1;
    return `${curTree}:${line}:${col}`;
  };
  const errorf = (msg: string): never => {
    const nodeText = curNodeText.length > 60 ? curNodeText.slice(0, 60) + '...' : curNodeText;
    throw new TemplateExecError(`template: ${location()}: executing ${JSON.stringify(curTree)} at <${nodeText}>: ${msg}`);
  };
  const at = (n: { pos: number; text?: string }, text?: string): void => {
    curPos = n.pos;
    curNodeText = text ?? n.text ?? '';
  };

  const write = (s: string): void => {
    budget.bytes += s.length;
    if (budget.bytes > budget.maxBytes) throw new TemplateLimitError('bytes', `template output exceeds ${budget.maxBytes} bytes`);
    out.push(s);
  };

  function varValue(vars: Var[], name: string): AnyValue {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.name === name) return vars[i]!.value;
    return errorf(`undefined variable: ${name}`);
  }
  function setVar(vars: Var[], name: string, v: AnyValue): void {
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i]!.name === name) {
        vars[i]!.value = v;
        return;
      }
    }
    errorf(`undefined variable: ${name}`);
  }

  function walk(dot: AnyValue, node: Node, vars: Var[]): void {
    ctx.charge(1);
    switch (node.type) {
      case 'text':
        write(node.text);
        return;
      case 'list':
        for (const n of node.nodes) walk(dot, n, vars);
        return;
      case 'action': {
        const mark = vars.length;
        const v = evalPipeline(dot, node.pipe, vars);
        if (node.pipe.decl.length === 0) {
          at(node.pipe, node.pipe.text);
          write(printValue(v));
        } else if (node.pipe.isAssign) {
          // assignment modified an outer variable; nothing to pop
        } else {
          // a declaration lives until the end of the enclosing control structure
          void mark;
        }
        return;
      }
      case 'if':
      case 'with': {
        const mark = vars.length;
        const v = evalPipeline(dot, node.pipe, vars);
        const truth = isTrue(v);
        if (truth) {
          walk(node.type === 'with' ? v : dot, node.list, vars);
        } else if (node.elseList) walk(dot, node.elseList, vars);
        vars.length = mark;
        return;
      }
      case 'range':
        walkRange(dot, node, vars);
        return;
      case 'template': {
        at(node, `{{template ${JSON.stringify(node.name)}${node.pipe ? ' ' + node.pipe.text : ''}}}`);
        const t = trees.get(node.name);
        if (!t) errorf(`template ${JSON.stringify(node.name)} not defined`);
        const newDot = node.pipe ? evalPipeline(dot, node.pipe, vars) : MISSING;
        depth++;
        if (depth >= MAX_DEPTH) errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
        const saved = curTree;
        curTree = node.name;
        walk(newDot, t!.root, [{ name: '$', value: newDot }]);
        curTree = saved;
        depth--;
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }

  function walkRange(dot: AnyValue, r: ControlNode, vars: Var[]): void {
    at(r.pipe, r.pipe.text);
    const mark = vars.length;
    const val = evalPipeline(dot, r.pipe, vars);
    const markBody = vars.length;
    const one = (index: AnyValue, elem: AnyValue): boolean => {
      ctx.charge(1);
      const d = r.pipe.decl;
      if (d.length > 0) {
        if (r.pipe.isAssign) {
          if (d.length > 1) setVar(vars, d[0]!, index);
          else setVar(vars, d[0]!, elem);
        } else vars[markBody - 1]!.value = elem;
      }
      if (d.length > 1) {
        if (r.pipe.isAssign) setVar(vars, d[1]!, elem);
        else vars[markBody - 2]!.value = index;
      }
      try {
        walk(elem, r.list, vars);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        vars.length = markBody;
      }
      return true;
    };
    let ran = false;
    if (val instanceof GoInt) {
      if (r.pipe.decl.length > 1) errorf(`can't use ${val.t} value to iterate over more than one variable`);
      ctx.charge(0);
      for (let i = 0n; i < val.v; i++) {
        ran = true;
        if (!one(MISSING, new GoInt(val.t, i))) break;
      }
    } else if (val instanceof GoSlice) {
      for (let i = 0; i < val.items.length; i++) {
        ran = true;
        if (!one(int(i), val.items[i]!)) break;
      }
    } else if (val instanceof GoMap) {
      const keys = [...val.m.keys()].sort(compareGoStrings);
      for (const k of keys) {
        ran = true;
        if (!one(k, val.m.get(k)!)) break;
      }
    } else if (val === MISSING || val === null) {
      // an invalid value acts like an empty map
    } else {
      errorf(`range can't iterate over ${typeName(val)} value`);
    }
    vars.length = mark;
    if (!ran && r.elseList) walk(dot, r.elseList, vars);
  }

  function evalPipeline(dot: AnyValue, pipe: PipeNode, vars: Var[]): AnyValue {
    at(pipe, pipe.text);
    let value: AnyValue = MISSING;
    let final: AnyValue | typeof NOFINAL = NOFINAL;
    for (const cmd of pipe.cmds) {
      value = evalCommand(dot, cmd, final, vars);
      // A nil interface{} result is Go's invalid value at the end of each stage.
      if (value === null) value = MISSING;
      final = value;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) setVar(vars, v, value);
      else vars.push({ name: v, value });
    }
    return value;
  }

  function notAFunction(args: ArgNode[], final: AnyValue | typeof NOFINAL): void {
    if (args.length > 1 || final !== NOFINAL) errorf(`can't give argument to non-function ${argText(args[0]!)}`);
  }

  function evalCommand(dot: AnyValue, cmd: CommandNode, final: AnyValue | typeof NOFINAL, vars: Var[]): AnyValue {
    ctx.charge(1);
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return evalFieldChain(dot, dot, first, first.ident, cmd.args, final, vars);
      case 'chain': {
        if (first.node.type === 'nil') errorf(`indirection through explicit nil in ${first.text}`);
        const pipe = evalArg(dot, 'interface {}', first.node, vars, true);
        return evalFieldChain(dot, pipe, first, first.field, cmd.args, final, vars);
      }
      case 'identifier':
        return evalFunction(dot, first, cmd, cmd.args, final, vars);
      case 'pipe':
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first, vars);
      case 'variable': {
        const v = varValue(vars, first.ident[0]!);
        if (first.ident.length === 1) {
          notAFunction(cmd.args, final);
          return v;
        }
        return evalFieldChain(dot, v, first, first.ident.slice(1), cmd.args, final, vars);
      }
    }
    at(first);
    notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool': return first.value;
      case 'dot': return dot;
      case 'nil': return errorf('nil is not a command');
      case 'number': return idealConstant(first.num);
      case 'string': return first.value;
    }
    return errorf(`can't evaluate command`);
  }

  function idealConstant(n: NumberValue): GoValue {
    if (n.isComplex) errorf('complex numbers are not supported');
    if (n.isFloat && !/^[+-]?0[xX]/.test(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return n.float;
    if (n.isInt) return int(n.int);
    if (n.isUint) return errorf(`${n.text} overflows int`);
    return n.float;
  }

  function evalFieldChain(dot: AnyValue, receiver: AnyValue, node: ArgNode, ident: string[], args: ArgNode[], final: AnyValue | typeof NOFINAL, vars: Var[]): AnyValue {
    for (let i = 0; i < ident.length - 1; i++) receiver = evalField(dot, ident[i]!, node, [], NOFINAL, receiver, vars);
    return evalField(dot, ident[ident.length - 1]!, node, args, final, receiver, vars);
  }

  function evalField(dot: AnyValue, field: string, node: ArgNode, args: ArgNode[], final: AnyValue | typeof NOFINAL, receiver: AnyValue, vars: Var[]): AnyValue {
    ctx.charge(1);
    at(node);
    if (receiver === MISSING) return MISSING;
    if (receiver === null) return errorf(`nil pointer evaluating interface {}.${field}`);
    const hasArgs = args.length > 1 || final !== NOFINAL;
    const method = methodOf(receiver, field);
    if (method) {
      const callArgs: AnyValue[] = [];
      for (const a of args.slice(1)) callArgs.push(evalArg(dot, 'interface {}', a, vars));
      if (final !== NOFINAL) callArgs.push(final);
      if (callArgs.length !== method.arity) errorf(`wrong number of args for ${field}: want ${method.arity} got ${callArgs.length}`);
      try {
        return method.call(callArgs);
      } catch (e) {
        if (e instanceof FuncError) errorf(`error calling ${field}: ${e.message}`);
        throw e;
      }
    }
    if (receiver instanceof GoMap) {
      if (hasArgs) errorf(`${field} is not a method but has arguments`);
      const v = receiver.m.get(field);
      return v === undefined ? MISSING : v;
    }
    return errorf(`can't evaluate field ${field} in type ${typeName(receiver)}`);
  }

  function evalFunction(dot: AnyValue, node: Extract<ArgNode, { type: 'identifier' }>, cmd: { pos: number; text?: string }, args: ArgNode[], final: AnyValue | typeof NOFINAL, vars: Var[]): AnyValue {
    at(node);
    const name = node.ident;
    const isBuiltin = !Object.hasOwn(funcs, name);
    const f = isBuiltin ? (Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined) : funcs[name];
    if (!f) return errorf(`${JSON.stringify(name)} is not a defined function`);
    const argNodes = args.slice(1);
    const numIn = argNodes.length + (final !== NOFINAL ? 1 : 0);
    const numFixed = f.params.length;
    if (f.variadic) {
      if (numIn < numFixed) errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
    } else if (numIn !== numFixed) errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);

    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: AnyValue = MISSING;
      for (const a of argNodes) {
        v = evalArg(dot, 'reflect.Value', a, vars);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== NOFINAL) v = final;
      return v;
    }
    const argv: AnyValue[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++) argv.push(evalArg(dot, f.params[i]!, argNodes[i]!, vars));
    if (f.variadic) for (; i < argNodes.length; i++) argv.push(evalArg(dot, f.variadic, argNodes[i]!, vars));
    if (final !== NOFINAL) {
      const t = numIn - 1 < numFixed ? f.params[numIn - 1]! : f.variadic!;
      argv.push(validateType(final, t));
    }
    at(cmd, (cmd as CommandNode).text ?? node.text);
    try {
      return f.fn(argv, ctx);
    } catch (e) {
      if (e instanceof FuncError) return errorf(`error calling ${name}: ${e.message}`);
      if (e instanceof WidthLimit) throw new TemplateLimitError('bytes', 'printf width or precision exceeds the render limit');
      if (e instanceof RangeError) throw new TemplateLimitError('bytes', 'template value exceeds the memory limit');
      throw e;
    }
  }

  function validateType(v: AnyValue, typ: ParamType): AnyValue {
    if (v === MISSING) {
      if (typ === 'interface {}') return null;
      if (typ === 'reflect.Value') return MISSING;
      if (typ === '[]interface {}' || typ === '[]string') return new GoSlice(typ.slice(2), []);
      if (typ === 'map[string]interface {}') return new GoMap('interface {}', new Map());
      return errorf(`invalid value; expected ${typ}`);
    }
    if (typ === 'interface {}' || typ === 'reflect.Value') return v;
    if (v === null) return errorf(`wrong type for value; expected ${typ}; got interface {}`);
    const have = typeName(v);
    if (have !== typ) errorf(`wrong type for value; expected ${typ}; got ${have}`);
    return v;
  }

  function evalArg(dot: AnyValue, typ: ParamType, n: ArgNode, vars: Var[], raw = false): AnyValue {
    at(n);
    const vt = (v: AnyValue): AnyValue => (raw ? v : validateType(v, typ));
    switch (n.type) {
      case 'dot': return vt(dot);
      case 'nil':
        if (typ === 'interface {}' || typ === 'reflect.Value' || typ.startsWith('[]') || typ.startsWith('map')) return typ.startsWith('[]') ? new GoSlice(typ.slice(2), []) : typ.startsWith('map') ? new GoMap('interface {}', new Map()) : null;
        return errorf(`cannot assign nil to ${typ}`);
      case 'field': return vt(evalFieldChain(dot, dot, n, n.ident, [n], NOFINAL, vars));
      case 'variable': {
        const v = varValue(vars, n.ident[0]!);
        return vt(n.ident.length === 1 ? v : evalFieldChain(dot, v, n, n.ident.slice(1), [n], NOFINAL, vars));
      }
      case 'pipe': return vt(evalPipeline(dot, n, vars));
      case 'identifier': return vt(evalFunction(dot, n, n, [n], NOFINAL, vars));
      case 'chain': {
        if (n.node.type === 'nil') errorf(`indirection through explicit nil in ${n.text}`);
        const r = evalArg(dot, 'interface {}', n.node, vars, true);
        return vt(evalFieldChain(dot, r, n, n.field, [n], NOFINAL, vars));
      }
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return errorf(`expected bool; found ${n.text}`);
      case 'float64':
        if (n.type === 'number' && n.num.isFloat) return n.num.float;
        return errorf(`expected float; found ${n.text}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.num.isInt) return new GoInt(typ, n.num.int);
        return errorf(`expected integer; found ${n.text}`);
      case 'uint8':
        if (n.type === 'number' && n.num.isUint && n.num.int < 256n) return new GoInt('uint8', n.num.int);
        return errorf(`expected unsigned integer; found ${n.text}`);
      case 'uint32':
        // reflect's SetUint keeps the low 32 bits of a larger constant, as Go does here.
        if (n.type === 'number' && n.num.isUint) return new GoInt('uint32', n.num.int & 0xffffffffn);
        return errorf(`expected unsigned integer; found ${n.text}`);
      case 'string':
        if (n.type === 'string') return n.value;
        return errorf(`expected string; found ${n.text}`);
      case 'interface {}':
      case 'reflect.Value':
        switch (n.type) {
          case 'bool': return n.value;
          case 'number': return idealConstant(n.num);
          case 'string': return n.value;
        }
    }
    return errorf(`can't handle ${n.text} for arg of type ${typ}`);
  }

  function printValue(v: AnyValue): string {
    if (v === MISSING) return '<no value>';
    return formatValue(v);
  }

  const main = trees.get(name);
  if (!main) throw new TemplateExecError(`template: ${name}: "${name}" is an incomplete or empty template`);
  try {
    walk(data, main.root, [{ name: '$', value: data }]);
  } catch (e) {
    if (e === BREAK || e === CONTINUE) throw new TemplateExecError(`template: ${name}: break or continue outside range`);
    throw e;
  }
  return out.join('');
}

const NOFINAL: unique symbol = Symbol('no final');

function argText(n: ArgNode): string {
  return n.type === 'pipe' ? '(' + n.text + ')' : n.text;
}

// ---- builtins (text/template/funcs.go) -----------------------------------------------------

type Kind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid' | 'other';
function basicKind(v: AnyValue): Kind {
  if (v === MISSING || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (v instanceof GoInt) return v.t.startsWith('u') ? 'uint' : 'int';
  return 'other';
}

function eqOne(a: AnyValue, b: AnyValue): boolean {
  // Go's basicKind gives maps, slices and structs the same "invalid" kind as nil.
  const kind = (v: AnyValue): Kind => (basicKind(v) === 'other' ? 'invalid' : basicKind(v));
  const isNilV = (v: AnyValue): boolean => v === MISSING || v === null;
  const k1 = kind(a);
  const k2 = kind(b);
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) return (a as GoInt).v === (b as GoInt).v;
    if (!isNilV(a) && !isNilV(b)) throw new FuncError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
    return false;
  }
  switch (k1) {
    case 'bool': case 'float': case 'string': return a === b;
    case 'int': case 'uint': return (a as GoInt).v === (b as GoInt).v;
  }
  if (isNilV(a) || isNilV(b)) return isNilV(a) === isNilV(b);
  if (kindName(a) !== kindName(b)) throw new FuncError(`non-comparable types: ${typeName(a)}, ${typeName(b)}`);
  if (a instanceof GoSlice || a instanceof GoMap) throw new FuncError(`non-comparable type: ${typeName(a)}`);
  if (typeName(a) !== typeName(b)) return false;
  if (a instanceof GoTime && b instanceof GoTime) return a.unixNano === b.unixNano && a.offsetSec === b.offsetSec && a.zone === b.zone;
  return a === b;
}

function ltOne(a: AnyValue, b: AnyValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  const bad = (k: Kind): boolean => k === 'bool' || k === 'invalid' || k === 'other';
  if (bad(k1) || bad(k2)) throw new FuncError('invalid type for comparison');
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) return (a as GoInt).v < (b as GoInt).v;
    throw new FuncError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  }
  if (k1 === 'int' || k1 === 'uint') return (a as GoInt).v < (b as GoInt).v;
  return (a as number | string) < (b as number | string);
}

function indexArg(v: AnyValue, cap: number): number {
  if (!(v instanceof GoInt)) {
    if (v === MISSING || v === null) throw new FuncError('cannot index slice/array with nil');
    throw new FuncError(`cannot index slice/array with type ${typeName(v)}`);
  }
  if (v.v < 0n || v.v > BigInt(cap)) throw new FuncError(`index out of range: ${v.v}`);
  return Number(v.v);
}

function builtinIndex(item: AnyValue, indexes: AnyValue[]): AnyValue {
  if (item === MISSING || item === null) throw new FuncError('index of untyped nil');
  let cur: AnyValue = item;
  for (const ix of indexes) {
    if (cur === null || (cur as AnyValue) === MISSING) throw new FuncError('index of nil pointer');
    if (typeof cur === 'string') {
      const i = indexArg(ix, cur.length);
      if (i >= cur.length) throw new FuncError(`index out of range: ${i}`);
      cur = new GoInt('uint8', BigInt(cur.charCodeAt(i)));
    } else if (cur instanceof GoSlice) {
      const i = indexArg(ix, cur.items.length);
      if (i >= cur.items.length) throw new FuncError(`index out of range: ${i}`);
      cur = cur.items[i]!;
    } else if (cur instanceof GoMap) {
      if (typeof ix !== 'string') {
        if (ix === MISSING || ix === null) throw new FuncError('value is nil; should be of type string');
        throw new FuncError(`value has type ${typeName(ix)}; should be string`);
      }
      const v = cur.m.get(ix);
      cur = v === undefined ? (cur.elem === 'string' ? '' : null) : v;
    } else throw new FuncError(`can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

function builtinSlice(item: AnyValue, idx: AnyValue[]): AnyValue {
  if (item === MISSING || item === null) throw new FuncError('slice of untyped nil');
  if (idx.length > 3) throw new FuncError(`too many slice indexes: ${idx.length}`);
  let cap: number;
  if (typeof item === 'string') {
    if (idx.length === 3) throw new FuncError('cannot 3-index slice a string');
    cap = item.length;
  } else if (item instanceof GoSlice) cap = item.items.length;
  else throw new FuncError(`can't slice item of type ${typeName(item)}`);
  const ix = [0, cap];
  for (let i = 0; i < idx.length; i++) ix[i] = indexArg(idx[i]!, cap);
  if (ix[0]! > ix[1]!) throw new FuncError(`invalid slice index: ${ix[0]} > ${ix[1]}`);
  if (idx.length === 3 && ix[1]! > ix[2]!) throw new FuncError(`invalid slice index: ${ix[1]} > ${ix[2]}`);
  if (typeof item === 'string') return item.slice(ix[0], ix[1]);
  return new GoSlice((item as GoSlice).elem, (item as GoSlice).items.slice(ix[0], ix[1]));
}

function evalArgs(args: AnyValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  // text/template's printableValue: a nil argument prints as "<no value>" here.
  return sprint(args.map((a) => (a === MISSING || a === null ? '<no value>' : a)));
}

const HEXU = '0123456789ABCDEF';

export function jsEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      switch (c) {
        case 0x5c: out += '\\\\'; continue;
        case 0x27: out += "\\'"; continue;
        case 0x22: out += '\\"'; continue;
        case 0x3c: out += '\\u003C'; continue;
        case 0x3e: out += '\\u003E'; continue;
        case 0x26: out += '\\u0026'; continue;
        case 0x3d: out += '\\u003D'; continue;
      }
      out += c < 0x20 ? '\\u00' + HEXU[c >> 4] + HEXU[c & 15] : s[i];
      continue;
    }
    const [r, size] = decodeRune(s, i);
    if (isPrint(r)) out += s.slice(i, i + size);
    else out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0');
    i += size - 1;
  }
  return out;
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\xef\xbf\xbd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

/** url.QueryEscape over bytes. */
export function queryEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += '%' + HEXU[s.charCodeAt(i) >> 4] + HEXU[s.charCodeAt(i) & 15];
  }
  return out;
}

const V: ParamType = 'reflect.Value';
const A: ParamType = 'interface {}';

export const BUILTINS: FuncMap = {
  and: { params: [V], variadic: V, fn: () => MISSING },
  or: { params: [V], variadic: V, fn: () => MISSING },
  not: { params: [V], fn: ([a]) => !isTrue(a!) },
  len: {
    params: [V],
    fn: ([a]) => {
      if (a === MISSING) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
      if (typeof a === 'string') return int(a.length);
      if (a instanceof GoSlice) return int(a.items.length);
      if (a instanceof GoMap) return int(a.m.size);
      if (a === null) throw new FuncError('len of nil pointer');
      throw new FuncError(`len of type ${typeName(a!)}`);
    },
  },
  index: { params: [V], variadic: V, fn: ([item, ...ix], ctx) => (ctx.charge(ix.length), builtinIndex(item!, ix)) },
  slice: { params: [V], variadic: V, fn: ([item, ...ix]) => builtinSlice(item!, ix) },
  print: { params: [], variadic: A, fn: (args, ctx) => sized(ctx, sprint(args)) },
  printf: { params: ['string'], variadic: A, fn: ([f, ...args], ctx) => sized(ctx, sprintf(f as string, args, { maxWidth: ctx.budget.maxBytes })) },
  println: { params: [], variadic: A, fn: (args, ctx) => sized(ctx, sprintln(args)) },
  html: { params: [], variadic: A, fn: (args) => htmlEscape(evalArgs(args)) },
  js: { params: [], variadic: A, fn: (args) => jsEscape(evalArgs(args)) },
  urlquery: { params: [], variadic: A, fn: (args) => queryEscape(evalArgs(args)) },
  call: {
    params: [V],
    variadic: V,
    fn: ([f]) => {
      if (f === MISSING || f === null) throw new FuncError('call of nil');
      throw new FuncError(`non-function of type ${typeName(f!)}`);
    },
  },
  eq: {
    params: [V],
    variadic: V,
    fn: ([a, ...rest]) => {
      if (rest.length === 0) throw new FuncError('missing argument for comparison');
      for (const b of rest) if (eqOne(a!, b)) return true;
      return false;
    },
  },
  ne: { params: [V, V], fn: ([a, b]) => !eqOne(a!, b!) },
  lt: { params: [V, V], fn: ([a, b]) => ltOne(a!, b!) },
  le: { params: [V, V], fn: ([a, b]) => ltOne(a!, b!) || eqOne(a!, b!) },
  gt: { params: [V, V], fn: ([a, b]) => !ltOne(a!, b!) && !eqOne(a!, b!) },
  ge: { params: [V, V], fn: ([a, b]) => !ltOne(a!, b!) },
};

function sized(ctx: ExecContext, s: string): string {
  ctx.checkSize(s.length);
  ctx.charge(Math.floor(s.length / 64));
  return s;
}

export { goToText };
