// Go text/template's lexer and parser (text/template/parse), hand-written because no npm package
// implements Go's grammar faithfully (see docs/compatibility.md). The source is a Go string (UTF-8
// bytes, one per char code). Parse errors are thrown as TemplateParseError with Go's message shape
// "template: NAME:LINE: ..."; they quote only the template text, never the data.

export class TemplateParseError extends Error {}

// ---- lexer -----------------------------------------------------------------------------------

type ItemType =
  | 'error' | 'bool' | 'char' | 'charconst' | 'comment' | 'assign' | 'declare' | 'eof' | 'field'
  | 'identifier' | 'leftDelim' | 'leftParen' | 'number' | 'pipe' | 'rawString' | 'rightDelim'
  | 'rightParen' | 'space' | 'string' | 'text' | 'variable'
  | 'block' | 'break' | 'continue' | 'dot' | 'define' | 'else' | 'end' | 'if' | 'nil' | 'range' | 'template' | 'with';

interface Item {
  typ: ItemType;
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS: Record<string, ItemType> = {
  '.': 'dot', block: 'block', break: 'break', continue: 'continue', define: 'define', else: 'else',
  end: 'end', if: 'if', range: 'range', nil: 'nil', template: 'template', with: 'with',
};

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && (c === '_' || /[A-Za-z0-9]/.test(c) || c.charCodeAt(0) >= 0x80);

function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;
  const emit = (typ: ItemType, val = input.slice(start, pos)): void => {
    items.push({ typ, pos: start, val, line: startLine });
    start = pos;
    startLine = line;
  };
  const advance = (n: number): void => {
    for (let k = 0; k < n; k++) if (input[pos + k] === '\n') line++;
    pos += n;
  };
  const ignore = (): void => {
    start = pos;
    startLine = line;
  };
  const fail = (msg: string): Item[] => {
    items.push({ typ: 'error', pos: start, val: msg, line: startLine });
    return items;
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (input.startsWith(' -}}', pos) || input.startsWith('\t-}}', pos) || input.startsWith('\r-}}', pos) || input.startsWith('\n-}}', pos)) return { delim: true, trim: true };
    if (input.startsWith('}}', pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };
  const trimLen = (s: string): number => s.length - s.replace(/[ \t\r\n]+$/, '').length;

  for (;;) {
    // lexText
    const x = input.indexOf('{{', pos);
    if (x < 0) {
      advance(input.length - pos);
      if (pos > start) emit('text');
      items.push({ typ: 'eof', pos, val: '', line });
      return items;
    }
    advance(x - pos);
    let trimLeft = 0;
    const hasLeftTrim = input[x + 2] === '-' && isSpace(input[x + 3]);
    if (hasLeftTrim) trimLeft = trimLen(input.slice(start, pos));
    const textEnd = pos - trimLeft;
    if (textEnd > start) {
      const saved = pos;
      const savedLine = line;
      const text = input.slice(start, textEnd);
      items.push({ typ: 'text', pos: start, val: text, line: startLine });
      pos = saved;
      line = savedLine;
    }
    start = pos;
    startLine = line;
    // lexLeftDelim
    advance(2);
    if (hasLeftTrim) advance(2);
    const afterMarker = hasLeftTrim ? 2 : 0;
    if (input.startsWith('/*', pos)) {
      pos -= 0;
      const endC = input.indexOf('*/', pos + 2);
      if (endC < 0) return fail('unclosed comment');
      advance(endC + 2 - pos);
      const rd = atRightDelim();
      if (!rd.delim) return fail('comment ends before closing delimiter');
      if (rd.trim) advance(2);
      advance(2);
      if (rd.trim) {
        const m = /^[ \t\r\n]*/.exec(input.slice(pos))![0];
        advance(m.length);
      }
      ignore();
      continue;
    }
    void afterMarker;
    items.push({ typ: 'leftDelim', pos: start, val: '{{', line: startLine });
    ignore();
    parenDepth = 0;
    // lexInsideAction
    for (;;) {
      const rd = atRightDelim();
      if (rd.delim && parenDepth === 0) {
        if (rd.trim) {
          advance(2);
          ignore();
        }
        advance(2);
        emit('rightDelim');
        if (rd.trim) {
          const m = /^[ \t\r\n]*/.exec(input.slice(pos))![0];
          advance(m.length);
          ignore();
        }
        break;
      }
      if (rd.delim && parenDepth > 0) return fail('unclosed left paren');
      const c = input[pos];
      if (c === undefined) return fail('unclosed action');
      if (isSpace(c)) {
        // lexSpace: stop before a " -}}" trim marker
        let n = 0;
        while (isSpace(input[pos + n])) {
          if (input.startsWith('-}}', pos + n + 1)) {
            n++;
            break;
          }
          n++;
        }
        // a trim marker is one space char then "-}}": leave that space for atRightDelim
        if (input.startsWith('-}}', pos + n) && n > 0) n--;
        if (n === 0) {
          // exactly " -}}" at pos: handled next iteration by atRightDelim
          advance(1);
          emit('space');
          continue;
        }
        advance(n);
        emit('space');
        continue;
      }
      if (c === '=') {
        advance(1);
        emit('assign');
        continue;
      }
      if (c === ':') {
        if (input[pos + 1] !== '=') return fail('expected :=');
        advance(2);
        emit('declare');
        continue;
      }
      if (c === '|') {
        advance(1);
        emit('pipe');
        continue;
      }
      if (c === '"') {
        advance(1);
        for (;;) {
          const d = input[pos];
          if (d === '\\') {
            if (input[pos + 1] === undefined || input[pos + 1] === '\n') return fail('unterminated quoted string');
            advance(2);
            continue;
          }
          if (d === undefined || d === '\n') return fail('unterminated quoted string');
          advance(1);
          if (d === '"') break;
        }
        emit('string');
        continue;
      }
      if (c === '`') {
        const e = input.indexOf('`', pos + 1);
        if (e < 0) return fail('unterminated raw quoted string');
        advance(e + 1 - pos);
        emit('rawString');
        continue;
      }
      if (c === "'") {
        advance(1);
        for (;;) {
          const d = input[pos];
          if (d === '\\') {
            if (input[pos + 1] === undefined || input[pos + 1] === '\n') return fail('unterminated character constant');
            advance(2);
            continue;
          }
          if (d === undefined || d === '\n') return fail('unterminated character constant');
          advance(1);
          if (d === "'") break;
        }
        emit('charconst');
        continue;
      }
      if (c === '$') {
        advance(1);
        if (atTerminator()) {
          emit('variable');
          continue;
        }
        while (isAlnum(input[pos])) advance(1);
        if (!atTerminator()) return fail(`bad character ${goRuneDesc(input[pos]!)}`);
        emit('variable');
        continue;
      }
      if (c === '.') {
        const n = input[pos + 1];
        if (n === undefined || n < '0' || n > '9') {
          advance(1);
          if (atTerminator()) {
            emit('dot');
            continue;
          }
          while (isAlnum(input[pos])) advance(1);
          if (!atTerminator()) return fail(`bad character ${goRuneDesc(input[pos]!)}`);
          emit('field');
          continue;
        }
      }
      if (c === '+' || c === '-' || c === '.' || (c >= '0' && c <= '9')) {
        if (!scanNumber()) return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos)).slice(1, -1)}`);
        emit('number');
        continue;
      }
      if (isAlnum(c)) {
        while (isAlnum(input[pos])) advance(1);
        const word = input.slice(start, pos);
        if (!atTerminator()) return fail(`bad character ${goRuneDesc(input[pos]!)}`);
        if (Object.hasOwn(KEYWORDS, word) && word !== '.') emit(KEYWORDS[word]!);
        else if (word === 'true' || word === 'false') emit('bool');
        else emit('identifier');
        continue;
      }
      if (c === '(') {
        advance(1);
        emit('leftParen');
        parenDepth++;
        continue;
      }
      if (c === ')') {
        advance(1);
        emit('rightParen');
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren');
        continue;
      }
      if (c.charCodeAt(0) < 0x80 && c.charCodeAt(0) > 0x20 && c.charCodeAt(0) < 0x7f) {
        advance(1);
        emit('char');
        continue;
      }
      return fail(`unrecognized character in action: ${goRuneDesc(c)}`);
    }
  }

  function atTerminator(): boolean {
    const r = input[pos];
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return input.startsWith('}}', pos);
  }

  function scanNumber(): boolean {
    const accept = (valid: string): boolean => {
      if (input[pos] !== undefined && valid.includes(input[pos]!)) {
        advance(1);
        return true;
      }
      return false;
    };
    const acceptRun = (valid: string): void => {
      while (input[pos] !== undefined && valid.includes(input[pos]!)) advance(1);
    };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlnum(input[pos])) {
      advance(1);
      return false;
    }
    return true;
  }
}

function goRuneDesc(c: string): string {
  const code = c.charCodeAt(0);
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return code >= 0x20 && code < 0x7f ? `U+${hex} '${c}'` : `U+${hex}`;
}

// ---- nodes -----------------------------------------------------------------------------------

export type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; pos: number; line: number; pipe: PipeNode }
  | ControlNode
  | { type: 'template'; pos: number; line: number; name: string; pipe?: PipeNode }
  | { type: 'break' | 'continue'; pos: number; line: number }
  | ListNode;

export interface ControlNode {
  type: 'if' | 'with' | 'range';
  pos: number;
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}

export interface ListNode {
  type: 'list';
  nodes: Node[];
}

export interface PipeNode {
  type: 'pipe';
  pos: number;
  line: number;
  isAssign: boolean;
  decl: string[];
  cmds: CommandNode[];
  text: string;
}

export interface CommandNode {
  type: 'command';
  pos: number;
  args: ArgNode[];
  text: string;
}

export type ArgNode =
  | { type: 'field'; pos: number; ident: string[]; text: string }
  | { type: 'variable'; pos: number; ident: string[]; text: string }
  | { type: 'identifier'; pos: number; ident: string; text: string }
  | { type: 'dot'; pos: number; text: string }
  | { type: 'nil'; pos: number; text: string }
  | { type: 'bool'; pos: number; value: boolean; text: string }
  | { type: 'string'; pos: number; value: string; text: string }
  | { type: 'number'; pos: number; num: NumberValue; text: string }
  | { type: 'chain'; pos: number; node: ArgNode; field: string[]; text: string }
  | PipeNode;

export interface NumberValue {
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: bigint;
  float: number;
  text: string;
}

export interface Tree {
  name: string;
  root: ListNode;
}

// ---- parser ----------------------------------------------------------------------------------

export interface ParseOptions {
  /** Function names known at parse time (builtins and the function map). */
  hasFunction(name: string): boolean;
}

/** Parses one template source into its trees: the named main tree plus every {{define}}/{{block}}. */
export function parse(name: string, text: string, opts: ParseOptions): Map<string, Tree> {
  const items = lex(text);
  let idx = 0;
  const treeSet = new Map<string, Tree>();
  let treeName = name;
  let vars: string[] = ['$'];
  let rangeDepth = 0;

  const errorf = (msg: string, line = curLine()): never => {
    throw new TemplateParseError(`template: ${treeName}:${line}: ${msg}`);
  };
  function curLine(): number {
    return items[Math.min(Math.max(idx - 1, 0), items.length - 1)]!.line;
  }
  const next = (): Item => {
    const it = items[idx]!;
    if (idx < items.length - 1) idx++;
    if (it.typ === 'error') errorf(it.val, it.line);
    return it;
  };
  const backup = (n = 1): void => {
    idx -= n;
  };
  const peek = (): Item => {
    const it = items[idx]!;
    if (it.typ === 'error') errorf(it.val, it.line);
    return it;
  };
  const nextNonSpace = (): Item => {
    let it: Item;
    do it = next();
    while (it.typ === 'space');
    return it;
  };
  const peekNonSpace = (): Item => {
    const save = idx;
    const it = nextNonSpace();
    idx = save;
    return it;
  };
  const desc = (it: Item): string => {
    switch (it.typ) {
      case 'eof': return 'EOF';
      case 'error': return it.val;
      case 'leftDelim': case 'rightDelim': return `"${it.val}"`;
    }
    if (Object.hasOwn(KEYWORDS, it.val) && it.typ !== 'identifier' && it.typ !== 'dot') return `<${it.val}>`;
    return it.val.length > 10 ? JSON.stringify(it.val.slice(0, 10) + '...') : JSON.stringify(it.val);
  };
  const unexpected = (it: Item, context: string): never => {
    if (it.typ === 'error') errorf(it.val, it.line);
    return errorf(`unexpected ${desc(it)} in ${context}`, it.line);
  };
  const expect = (typ: ItemType, context: string): Item => {
    const it = nextNonSpace();
    if (it.typ !== typ) unexpected(it, context);
    return it;
  };

  type End = { kind: 'end' | 'else'; item: Item };

  function itemList(): { list: ListNode; end: End } {
    const list: ListNode = { type: 'list', nodes: [] };
    while (peekNonSpace().typ !== 'eof') {
      const n = textOrAction();
      if ('kind' in n) return { list, end: n };
      list.nodes.push(n);
    }
    return errorf('unexpected EOF');
  }

  function textOrAction(): Node | End {
    const tok = nextNonSpace();
    if (tok.typ === 'text') return { type: 'text', text: tok.val };
    if (tok.typ === 'leftDelim') return action();
    return unexpected(tok, 'input');
  }

  function action(): Node | End {
    const tok = nextNonSpace();
    switch (tok.typ) {
      case 'block': return blockControl();
      case 'break': return breakControl(tok, 'break');
      case 'continue': return breakControl(tok, 'continue');
      case 'else': return elseControl(tok);
      case 'end': expect('rightDelim', 'end'); return { kind: 'end', item: tok };
      case 'if': return control('if', tok);
      case 'range': return control('range', tok);
      case 'template': return templateControl(tok);
      case 'with': return control('with', tok);
    }
    backup();
    const it = peek();
    return { type: 'action', pos: it.pos, line: it.line, pipe: pipeline('command', 'rightDelim') };
  }

  function breakControl(tok: Item, kw: 'break' | 'continue'): Node {
    const t = nextNonSpace();
    if (t.typ !== 'rightDelim') unexpected(t, `{{${kw}}}`);
    if (rangeDepth === 0) errorf(`{{${kw}}} outside {{range}}`);
    return { type: kw, pos: tok.pos, line: tok.line };
  }

  function elseControl(tok: Item): End {
    const p = peekNonSpace();
    if (p.typ === 'if' || p.typ === 'with') return { kind: 'else', item: { ...tok, val: p.typ } };
    expect('rightDelim', 'else');
    return { kind: 'else', item: tok };
  }

  function control(context: 'if' | 'with' | 'range', tok: Item): Node {
    const saveVars = vars.length;
    const pipe = pipeline(context, 'rightDelim');
    if (context === 'range') rangeDepth++;
    let { list, end } = itemList();
    if (context === 'range') rangeDepth--;
    let elseList: ListNode | undefined;
    if (end.kind === 'else') {
      if ((context === 'if' || context === 'with') && end.item.val === context) {
        // "{{else if ...}}" is "{{else}}{{if ...}}...{{end}}{{end}}" with one shared {{end}}.
        const inner = nextNonSpace();
        elseList = { type: 'list', nodes: [control(context, inner)] };
      } else if (end.item.val === 'if' || end.item.val === 'with') {
        errorf(`expected end; found {{else ${end.item.val}}}`);
      } else {
        const r = itemList();
        elseList = r.list;
        if (r.end.kind !== 'end') errorf('expected end; found {{else}}');
      }
    }
    vars = vars.slice(0, saveVars);
    void list;
    return { type: context, pos: tok.pos, line: tok.line, pipe, list, elseList };
  }

  function parseTemplateName(tok: Item, context: string): string {
    if (tok.typ === 'string' || tok.typ === 'rawString') return unquoteString(tok.val, errorf);
    return unexpected(tok, context);
  }

  function templateControl(tok: Item): Node {
    const context = 'template clause';
    const nameTok = nextNonSpace();
    const tname = parseTemplateName(nameTok, context);
    let pipe: PipeNode | undefined;
    if (nextNonSpace().typ !== 'rightDelim') {
      backup();
      pipe = pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: tok.pos, line: tok.line, name: tname, pipe };
  }

  function blockControl(): Node {
    const context = 'block clause';
    const tok = nextNonSpace();
    const bname = parseTemplateName(tok, context);
    const pipe = pipeline(context, 'rightDelim');
    const saved = { treeName, vars, rangeDepth };
    treeName = bname;
    vars = ['$'];
    rangeDepth = 0;
    const { list, end } = itemList();
    if (end.kind !== 'end') errorf(`unexpected ${end.kind === 'else' ? '{{else}}' : ''} in ${context}`);
    addTree({ name: bname, root: list });
    ({ treeName, vars, rangeDepth } = saved);
    return { type: 'template', pos: tok.pos, line: tok.line, name: bname, pipe };
  }

  function pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const first = peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: [], text: '' };
    // declarations
    decls: for (;;) {
      const v = peekNonSpace();
      if (v.typ !== 'variable') break;
      nextNonSpace();
      const tokenAfterVariable = peek();
      const nx = peekNonSpace();
      if (nx.typ === 'assign' || nx.typ === 'declare') {
        pipe.isAssign = nx.typ === 'assign';
        nextNonSpace();
        pipe.decl.push(v.val);
        if (pipe.isAssign) useVar(v.val);
        else vars.push(v.val);
        break;
      } else if (nx.typ === 'char' && nx.val === ',') {
        nextNonSpace();
        pipe.decl.push(v.val);
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const t = peekNonSpace().typ;
          if (t === 'variable' || t === 'rightDelim' || t === 'rightParen') continue decls;
          errorf('range can only initialize variables');
        }
        errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === 'space') {
        // back up to the variable: it is an operand
        idx--;
        while (items[idx]!.typ === 'space') idx--;
        break;
      } else {
        idx--;
        while (items[idx]!.typ !== 'variable') idx--;
        break;
      }
    }
    for (;;) {
      const tok = nextNonSpace();
      if (tok.typ === end) {
        checkPipeline(pipe, context);
        pipe.text = pipeText(pipe);
        return pipe;
      }
      switch (tok.typ) {
        case 'bool': case 'charconst': case 'dot': case 'field': case 'identifier': case 'number':
        case 'nil': case 'rawString': case 'string': case 'variable': case 'leftParen':
          backup();
          pipe.cmds.push(command());
          break;
        default:
          unexpected(tok, context);
      }
    }
  }

  function checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      const t = pipe.cmds[i]!.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  function command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: peekNonSpace().pos, args: [], text: '' };
    for (;;) {
      peekNonSpace();
      const op = operand();
      if (op) cmd.args.push(op);
      const tok = next();
      if (tok.typ === 'space') continue;
      if (tok.typ === 'rightDelim' || tok.typ === 'rightParen') backup();
      else if (tok.typ !== 'pipe') unexpected(tok, 'operand');
      break;
    }
    if (cmd.args.length === 0) errorf('empty command');
    cmd.text = cmd.args.map(argText).join(' ');
    return cmd;
  }

  function operand(): ArgNode | undefined {
    let node = term();
    if (!node) return undefined;
    if (peek().typ === 'field') {
      const fields: string[] = [];
      while (peek().typ === 'field') fields.push(next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos: node.pos, ident: [...node.ident, ...fields], text: '' };
          node.text = '.' + node.ident.join('.');
          break;
        case 'variable':
          node = { type: 'variable', pos: node.pos, ident: [...node.ident, ...fields], text: '' };
          node.text = node.ident.join('.');
          break;
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          errorf(`unexpected . after term ${JSON.stringify(argText(node))}`);
          break;
        default:
          node = { type: 'chain', pos: node.pos, node, field: fields, text: '' };
          node.text = argText(node.node) + '.' + fields.join('.');
      }
    }
    return node;
  }

  function term(): ArgNode | undefined {
    const tok = nextNonSpace();
    switch (tok.typ) {
      case 'identifier':
        if (!opts.hasFunction(tok.val)) errorf(`function ${JSON.stringify(tok.val)} not defined`);
        return { type: 'identifier', pos: tok.pos, ident: tok.val, text: tok.val };
      case 'dot': return { type: 'dot', pos: tok.pos, text: '.' };
      case 'nil': return { type: 'nil', pos: tok.pos, text: 'nil' };
      case 'variable': useVar(tok.val); return { type: 'variable', pos: tok.pos, ident: [tok.val], text: tok.val };
      case 'field': return { type: 'field', pos: tok.pos, ident: [tok.val.slice(1)], text: tok.val };
      case 'bool': return { type: 'bool', pos: tok.pos, value: tok.val === 'true', text: tok.val };
      case 'charconst': case 'number': return { type: 'number', pos: tok.pos, num: parseNumber(tok), text: tok.val };
      case 'leftParen': {
        const p = pipeline('parenthesized pipeline', 'rightParen');
        return p;
      }
      case 'string': case 'rawString':
        return { type: 'string', pos: tok.pos, value: unquoteString(tok.val, errorf), text: tok.val };
    }
    backup();
    return undefined;
  }

  function useVar(v: string): void {
    const name = v.split('.')[0]!;
    if (!vars.includes(name)) errorf(`undefined variable ${JSON.stringify(name)}`);
  }

  function parseNumber(tok: Item): NumberValue {
    const n: NumberValue = { isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, float: 0, text: tok.val };
    if (tok.typ === 'charconst') {
      const r = unquoteChar(tok.val, errorf);
      n.isInt = n.isUint = n.isFloat = true;
      n.int = BigInt(r);
      n.float = r;
      return n;
    }
    const s = tok.val;
    if (s.endsWith('i')) errorf(`complex numbers are not supported: ${s}`);
    const clean = s.replace(/_/g, '');
    if (s.includes('_') && !validUnderscores(s)) errorf(`illegal number syntax: ${JSON.stringify(s)}`);
    const body = clean.replace(/^[+-]/, '');
    const neg = clean.startsWith('-');
    let intOk = false;
    let iv = 0n;
    if (/^0[xX][0-9a-fA-F]+$/.test(body) || /^0[oO][0-7]+$/.test(body) || /^0[bB][01]+$/.test(body) || /^[1-9][0-9]*$/.test(body) || body === '0') {
      iv = BigInt(body.replace(/^0[oO]/, '0o'));
      intOk = true;
    } else if (/^0[0-7]+$/.test(body)) {
      iv = BigInt('0o' + body.slice(1));
      intOk = true;
    }
    if (intOk) {
      if (neg) iv = -iv;
      if (iv >= -(1n << 63n) && iv < 1n << 63n) {
        n.isInt = true;
        n.int = iv;
      }
      if (iv >= 0n && iv < 1n << 64n) n.isUint = true;
      if (!n.isInt && n.isUint) n.int = iv;
    }
    // ParseFloat
    let f: number;
    if (/^[+-]?0[xX]/.test(clean)) f = intOk ? Number(iv) : parseHexFloat(clean);
    else if (/^[+-]?0[oObB]/.test(clean)) f = intOk ? Number(iv) : NaN;
    else f = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) ? Number(clean) : NaN;
    if (!Number.isNaN(f) && Number.isFinite(f)) {
      n.isFloat = true;
      n.float = f;
      if (!n.isInt && Number.isInteger(f) && Math.abs(f) < 2 ** 63 && !/[xX]/.test(clean)) {
        // Go: a float that is an integer also counts as an int ("1e3" is int 1000).
        const bi = BigInt(f);
        if (bi >= -(1n << 63n) && bi < 1n << 63n && Number(bi) === f) {
          n.isInt = true;
          n.int = bi;
        }
      }
      if (!n.isUint && n.isInt && n.int >= 0n) n.isUint = true;
    }
    if (!n.isInt && !n.isUint && !n.isFloat) errorf(`illegal number syntax: ${JSON.stringify(s)}`);
    return n;
  }

  function addTree(t: Tree): void {
    const old = treeSet.get(t.name);
    if (old && !isEmptyTree(old.root)) {
      if (isEmptyTree(t.root)) return;
      errorf(`template: multiple definition of template ${JSON.stringify(t.name)}`);
    }
    treeSet.set(t.name, t);
  }

  // top level: parse()
  const root: ListNode = { type: 'list', nodes: [] };
  while (peek().typ !== 'eof') {
    if (peek().typ === 'leftDelim') {
      const save = idx;
      next();
      if (nextNonSpace().typ === 'define') {
        const context = 'define clause';
        const nameTok = nextNonSpace();
        const dname = parseTemplateName(nameTok, context);
        expect('rightDelim', context);
        const saved = { treeName, vars, rangeDepth };
        treeName = dname;
        vars = ['$'];
        rangeDepth = 0;
        const { list, end } = itemList();
        if (end.kind !== 'end') errorf(`unexpected {{else}} in ${context}`);
        ({ treeName, vars, rangeDepth } = saved);
        addTree({ name: dname, root: list });
        continue;
      }
      idx = save;
    }
    const n = textOrAction();
    if ('kind' in n) errorf(`unexpected {{${n.kind}}}`);
    else root.nodes.push(n);
  }
  addTree({ name, root });
  return treeSet;
}

function validUnderscores(s: string): boolean {
  // Go: underscores only between digits or after a base prefix.
  let i = 0;
  if (s[0] === '+' || s[0] === '-') i++;
  let prev = '';
  let hex = false;
  if (s[i] === '0' && /[xXoObB]/.test(s[i + 1] ?? '')) {
    hex = /[xX]/.test(s[i + 1]!);
    prev = '0';
    i += 2;
    if (s[i] === '_') {
      prev = '_';
      i++;
      if (!/[0-9a-fA-F]/.test(s[i] ?? '')) return false;
    }
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    const isDigit = hex ? /[0-9a-fA-F]/.test(c) : /[0-9]/.test(c);
    if (c === '_') {
      if (!/[0-9a-fA-F]/.test(prev) || !(hex ? /[0-9a-fA-F]/ : /[0-9]/).test(s[i + 1] ?? '')) return false;
    } else if (!isDigit && (prev === '_')) return false;
    prev = c;
  }
  return true;
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
  if (!m) return NaN;
  const mant = parseInt((m[2] || '0') + (m[3] || ''), 16);
  const v = mant * 2 ** (Number(m[4]) - 4 * (m[3]?.length ?? 0));
  return m[1] === '-' ? -v : v;
}

function argText(n: ArgNode): string {
  if (n.type === 'pipe') return '(' + n.text + ')';
  return n.text;
}

function pipeText(p: PipeNode): string {
  let s = '';
  if (p.decl.length > 0) s = p.decl.join(', ') + (p.isAssign ? ' = ' : ' := ');
  return s + p.cmds.map((c) => c.text).join(' | ');
}

/** strconv.Unquote for "..." and `...` literals; the result is a Go string (bytes). */
export function unquoteString(q: string, errorf: (m: string) => never): string {
  if (q.startsWith('`')) return q.slice(1, -1).replace(/\r/g, '');
  let out = '';
  const s = q.slice(1, -1);
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '"') errorf(`invalid syntax`);
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const [v, n, isByte] = unescape(s, i + 1, '"', errorf);
    out += isByte ? String.fromCharCode(v) : encodeRuneGo(v);
    i = i + 1 + n;
  }
  return out;
}

function unquoteChar(q: string, errorf: (m: string) => never): number {
  const s = q.slice(1, -1);
  if (s.length === 0) errorf(`malformed character constant: ${q}`);
  if (s[0] === '\\') {
    const [v, n] = unescape(s, 1, "'", errorf);
    if (1 + n !== s.length) errorf(`malformed character constant: ${q}`);
    return v;
  }
  // decode one UTF-8 rune from the bytes
  const bytes = new Uint8Array([...s].map((ch) => ch.charCodeAt(0)));
  const t = new TextDecoder().decode(bytes);
  const cp = t.codePointAt(0)!;
  if ([...t].length !== 1) errorf(`malformed character constant: ${q}`);
  return cp;
}

function unescape(s: string, i: number, quoteCh: string, errorf: (m: string) => never): [number, number, boolean] {
  const c = s[i];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  if (c !== undefined && simple[c] !== undefined) return [simple[c]!, 1, false];
  if (c === quoteCh) return [c.charCodeAt(0), 1, false];
  if (c === 'x' || c === 'u' || c === 'U') {
    const n = c === 'x' ? 2 : c === 'u' ? 4 : 8;
    const h = s.slice(i + 1, i + 1 + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) errorf('invalid syntax');
    const v = parseInt(h, 16);
    if (c === 'x') return [v, 1 + n, true];
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) errorf('invalid syntax');
    return [v, 1 + n, false];
  }
  if (c !== undefined && c >= '0' && c <= '7') {
    const o = s.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(o)) errorf('invalid syntax');
    const v = parseInt(o, 8);
    if (v > 255) errorf('invalid syntax');
    return [v, 3, true];
  }
  return errorf('invalid syntax');
}

function encodeRuneGo(r: number): string {
  const t = new TextEncoder().encode(String.fromCodePoint(r));
  return String.fromCharCode(...t);
}

export function isEmptyTree(n: Node): boolean {
  switch (n.type) {
    case 'list': return n.nodes.every(isEmptyTree);
    case 'text': return n.text.trim().length === 0 && !/[^ \t\r\n]/.test(n.text);
    default: return false;
  }
}
