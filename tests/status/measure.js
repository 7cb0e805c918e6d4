// What the browser measures on the status page (tests/status/test_browser.py), as one
// JSON value; `viewport` is the intended width (a phone widens its layout viewport,
// zoomed out, when a page is too wide for it).
((viewport) => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.99) return c;
      if (c && c.a > 0) return {error: 'translucent background on ' + e.tagName};
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1};
  };
  const ratio = (fg, bg) => {
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'
      && !(s.clip === 'rect(0px, 0px, 0px, 0px)') && s.clipPath !== 'inset(50%)';
  };
  const lowContrast = [];
  const check = (el, style, what) => {
    const fg = parse(style.color), bg = background(el);
    if (!fg || bg.error) { lowContrast.push({what, error: bg.error || 'no colour'}); return; }
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const r = ratio(fg, bg);
    if (r < (large ? 3 : 4.5)) lowContrast.push({what, ratio: Math.round(r * 100) / 100, color: style.color});
  };
  let textElements = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (hasText && visible(el)) {
      textElements++;
      check(el, getComputedStyle(el), el.tagName + ': ' + el.textContent.trim().slice(0, 40));
    }
    const before = getComputedStyle(el, '::before');
    if (before.content && before.content !== 'none' && before.content !== 'normal' && visible(el)) {
      check(el, before, el.tagName + '::before ' + before.content);
    }
  }
  const wide = [...document.body.querySelectorAll('*')]
    .filter((el) => el.getBoundingClientRect().right > viewport + 0.5 && visible(el))
    .map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map((h) => ({level: Number(h.tagName[1]), text: h.textContent.trim()}));
  const tables = [...document.querySelectorAll('table')].map((t) => ({
    id: t.id,
    caption: t.caption ? t.caption.textContent.trim() : null,
    colHeaders: [...t.querySelectorAll('thead th')].map((th) => th.getAttribute('scope')),
    rowHeaders: [...t.querySelectorAll('tbody th')].map((th) => th.getAttribute('scope')),
    rows: t.tBodies[0] ? t.tBodies[0].rows.length : 0,
  }));
  const rows = {};
  for (const tr of document.querySelectorAll(
    'tr[data-request], tr[data-workflow], tr[data-window], tr[data-bot], tr[data-migration], '
    + 'tr[data-recipe], tr[data-bot-outcomes]')) {
    const key = tr.dataset.request || tr.dataset.workflow || tr.dataset.bot
      || tr.dataset.migration || tr.dataset.recipe || tr.dataset.botOutcomes
      || ('window ' + tr.dataset.window);
    const cells = Object.fromEntries([...tr.cells].map(
      (c) => [c.dataset.label || 'name', c.innerText.replace(/\s+/g, ' ').trim()]));
    rows[(tr.closest('table').id) + ' ' + key] = {text: tr.innerText.replace(/\s+/g, ' ').trim(), cells};
  }
  const firstFocusable = document.querySelector('a[href], button, input, select, textarea, [tabindex]');
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    wide,
    textElements,
    lowContrast,
    title: document.title,
    lang: document.documentElement.lang,
    viewport: (document.querySelector('meta[name=viewport]') || {}).content || null,
    landmarks: {
      banner: document.querySelectorAll('body > header').length,
      main: document.querySelectorAll('main').length,
      nav: [...document.querySelectorAll('nav')].map((n) => n.getAttribute('aria-label')),
      contentinfo: document.querySelectorAll('body > footer').length,
    },
    headings,
    tables,
    rows,
    verdict: document.getElementById('verdict').innerText.trim(),
    counts: Object.fromEntries([...document.querySelectorAll('dd[id^=count-]')].map((d) => [d.id, d.innerText.trim()])),
    badges: [...document.querySelectorAll('.badge')].map((b) => b.innerText.trim()),
    issues: [...document.querySelectorAll('#issues li')].map((li) => li.innerText.trim()),
    incidents: [...document.querySelectorAll('#incidents li')].map((li) => li.innerText.replace(/\s+/g, ' ').trim()),
    sections: [...document.querySelectorAll('main > section')].map((s) => s.id),
    scripts: document.querySelectorAll('script').length,
    resources: performance.getEntriesByType('resource').map((r) => r.name),
    stylesheetsLoaded: document.styleSheets.length,
    firstFocusable: firstFocusable ? firstFocusable.getAttribute('href') : null,
    skipTarget: !!document.getElementById('main'),
  };
})
