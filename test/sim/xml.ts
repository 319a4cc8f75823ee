// A strict little XML well-formedness checker for the SVG tests (no XML parser is installed):
// elements nest and close, attributes are quoted and unique, text has only the 5 predefined
// entities or numeric references. Returns the element tree.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

function checkText(t: string, where: number): string {
  const bad = /&(?!(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.exec(t);
  if (bad) throw new Error(`bad entity at ${where + bad.index}`);
  if (t.includes('<')) throw new Error(`stray < at ${where}`);
  return t
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Parse `src` as one XML document (an optional `<?xml ?>` declaration, then one root element). */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const s = src.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const text = s.slice(i, lt < 0 ? s.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 1) throw new Error(`text outside the root at ${i}`);
      stack[stack.length - 1]!.text += checkText(text, i);
    }
    if (lt < 0) break;
    i = lt + 1;
    if (s.startsWith('!--', i)) {
      const e = s.indexOf('-->', i);
      if (e < 0) throw new Error('unterminated comment');
      i = e + 3;
      continue;
    }
    if (s[i] === '/') {
      const m = NAME.exec(s.slice(i + 1));
      if (!m) throw new Error(`bad closing tag at ${i}`);
      const top = stack.pop()!;
      if (top.name !== m[0]) throw new Error(`</${m[0]}> closes <${top.name}> at ${i}`);
      i += 1 + m[0].length;
      while (/\s/.test(s[i]!)) i++;
      if (s[i] !== '>') throw new Error(`expected > at ${i}`);
      i++;
      continue;
    }
    const m = NAME.exec(s.slice(i));
    if (!m) throw new Error(`bad tag at ${i}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    i += m[0].length;
    for (;;) {
      while (/\s/.test(s[i]!)) i++;
      if (s[i] === '>' || s.startsWith('/>', i)) break;
      const a = NAME.exec(s.slice(i));
      if (!a) throw new Error(`bad attribute at ${i}`);
      i += a[0].length;
      if (s[i] !== '=') throw new Error(`attribute without value at ${i}`);
      const q = s[i + 1];
      if (q !== '"' && q !== "'") throw new Error(`unquoted attribute at ${i}`);
      const end = s.indexOf(q, i + 2);
      if (end < 0) throw new Error('unterminated attribute');
      if (a[0] in el.attrs) throw new Error(`duplicate attribute ${a[0]}`);
      el.attrs[a[0]] = checkText(s.slice(i + 2, end), i);
      i = end + 1;
    }
    stack[stack.length - 1]!.children.push(el);
    if (s[i] === '/') i += 2;
    else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error(`expected one root element, got ${root.children.length}`);
  return root.children[0]!;
}

/** Every element named `name` under `el` (depth first). */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}
