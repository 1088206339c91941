/* The fallback site's search box: every period of the archive, from the site's own files.
   A classic script, no modules and no fetch(), so it works from file:// as well as over http. The index
   (search-index.js, written by retention_report.search) is loaded on first use by a <script> tag and sets
   window.rrSearchIndex: Quarto's search.json entries {href, title, section, text}, href from the site root,
   text with <, > and & escaped as HTML. Results are built with DOM calls and textContent only: the index
   holds text that came from customers. */
(function () {
  "use strict";

  var MAX_RESULTS = 20;
  var SNIPPET_BEFORE = 60;
  var SNIPPET_LENGTH = 200;

  var form = document.querySelector("form.rr-search");
  if (!form) return;
  var input = form.querySelector("input[type=search]");
  var list = form.querySelector(".rr-search-results");
  var status = form.querySelector(".rr-search-status");
  var root = form.getAttribute("data-rr-root") || "";

  var entries = null;   // prepared index, once loaded
  var loading = false;

  var ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": "\"", "&#39;": "'" };
  function decode(text) {
    return String(text || "").replace(/&(?:lt|gt|amp|quot|#39);/g, function (m) { return ENTITIES[m]; });
  }

  // Only paths inside the site: nothing a browser could read as a scheme (javascript:, http:, even behind
  // spaces or control characters, which URL parsing drops), no absolute or protocol-relative path.
  function safeHref(href) {
    if (typeof href !== "string" || href === "" || /[\u0000-\u0020\\]/.test(href) || href.charAt(0) === "/") {
      return false;
    }
    return href.split(/[\/?#]/)[0].indexOf(":") === -1;
  }

  function prepare(raw) {
    var prepared = [];
    for (var i = 0; i < raw.length; i++) {
      var e = raw[i];
      if (!e || !safeHref(e.href)) continue;
      var title = String(e.title || ""), section = String(e.section || ""), text = decode(e.text);
      prepared.push({
        href: e.href, title: title, section: section, text: text,
        lowTitle: title.toLowerCase(), lowSection: section.toLowerCase(), lowText: text.toLowerCase()
      });
    }
    return prepared;
  }

  function setStatus(message) { status.textContent = message; }

  function load() {
    if (entries || loading) return;
    if (Array.isArray(window.rrSearchIndex)) { entries = prepare(window.rrSearchIndex); return; }
    loading = true;
    setStatus("Loading the search index…");
    var script = document.createElement("script");
    script.src = root + "search-index.js";
    script.onload = function () {
      loading = false;
      entries = prepare(Array.isArray(window.rrSearchIndex) ? window.rrSearchIndex : []);
      run();
    };
    script.onerror = function () {
      loading = false;
      setStatus("The search index could not be loaded.");
    };
    document.head.appendChild(script);
  }

  function queryWords(query) {
    return query.toLowerCase().split(/\s+/).filter(function (w) { return w !== ""; });
  }

  // Every word must occur somewhere in the title, the section or the text; a word in the title or the
  // section counts for more, so a page about the word comes before a page that mentions it.
  function search(words) {
    var hits = [];
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i], score = 0, all = true;
      for (var j = 0; j < words.length; j++) {
        var w = words[j];
        var inTitle = e.lowTitle.indexOf(w) !== -1, inSection = e.lowSection.indexOf(w) !== -1;
        var inText = e.lowText.indexOf(w) !== -1;
        if (!inTitle && !inSection && !inText) { all = false; break; }
        score += (inTitle ? 4 : 0) + (inSection ? 2 : 0) + (inText ? 1 : 0);
      }
      if (all) hits.push({ entry: e, score: score, order: i });
    }
    hits.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
    return hits;
  }

  // Where each query word occurs in the text (the first 50 times).
  function occurrences(low, words) {
    return words.map(function (w) {
      var found = [];
      for (var at = low.indexOf(w); at !== -1 && found.length < 50; at = low.indexOf(w, at + w.length)) found.push(at);
      return found;
    });
  }

  // About SNIPPET_LENGTH characters of the text, cut at spaces, where the query's words are: around the
  // occurrence whose neighbourhood holds the most of them, a rare word counting for more than a common one
  // (a figure the reader typed, rather than the period every page of the period repeats); earliest of equals.
  function snippet(e, words) {
    var found = occurrences(e.lowText, words), first = -1, best = 0;
    found.forEach(function (positions) {
      positions.forEach(function (at) {
        var from = at - SNIPPET_BEFORE, to = from + SNIPPET_LENGTH, score = 0;
        found.forEach(function (others, k) {
          if (others.some(function (p) { return p >= from && p + words[k].length <= to; })) score += 1 + 1 / others.length;
        });
        if (score > best || (score === best && at < first)) { best = score; first = at; }
      });
    });
    var start = Math.max(0, (first === -1 ? 0 : first) - SNIPPET_BEFORE);
    if (start > 0) { var space = e.text.indexOf(" ", start); if (space !== -1 && space < first) start = space + 1; }
    var end = Math.min(e.text.length, start + SNIPPET_LENGTH);
    if (end < e.text.length) { var back = e.text.lastIndexOf(" ", end); if (back > first && back > start) end = back; }
    return { text: e.text.slice(start, end), before: start > 0, after: end < e.text.length };
  }

  // The snippet as text nodes, each occurrence of a query word in a <mark>.
  function fillSnippet(element, part, words) {
    var low = part.text.toLowerCase(), marks = [];
    words.forEach(function (w) {
      for (var at = low.indexOf(w); at !== -1; at = low.indexOf(w, at + w.length)) marks.push([at, at + w.length]);
    });
    marks.sort(function (a, b) { return a[0] - b[0]; });
    var position = 0;
    if (part.before) element.appendChild(document.createTextNode("… "));
    marks.forEach(function (m) {
      if (m[0] < position) return; // overlaps the one before
      element.appendChild(document.createTextNode(part.text.slice(position, m[0])));
      var mark = document.createElement("mark");
      mark.textContent = part.text.slice(m[0], m[1]);
      element.appendChild(mark);
      position = m[1];
    });
    element.appendChild(document.createTextNode(part.text.slice(position) + (part.after ? " …" : "")));
  }

  function clearResults() {
    while (list.firstChild) list.removeChild(list.firstChild);
  }

  function run() {
    var words = queryWords(input.value);
    clearResults();
    if (!words.length) { setStatus(""); return; }
    if (!entries) { load(); return; }
    var hits = search(words);
    hits.slice(0, MAX_RESULTS).forEach(function (hit) {
      var e = hit.entry;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.setAttribute("href", root + e.href);
      var heading = document.createElement("span");
      heading.className = "rr-search-hit";
      heading.textContent = e.section ? e.title + " — " + e.section : e.title;
      link.appendChild(heading);
      if (e.text) {
        var text = document.createElement("span");
        text.className = "rr-search-snippet";
        fillSnippet(text, snippet(e, words), words);
        link.appendChild(text);
      }
      item.appendChild(link);
      list.appendChild(item);
    });
    setStatus(hits.length === 0 ? "No results." :
      hits.length > MAX_RESULTS ? "The first " + MAX_RESULTS + " of " + hits.length + " results." :
      hits.length === 1 ? "1 result." : hits.length + " results.");
  }

  function clear() {
    input.value = "";
    clearResults();
    setStatus("");
  }

  function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }

  input.addEventListener("focus", load);
  input.addEventListener("input", run);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = links()[0];
    if (first) window.location.href = first.href;
  });
  form.addEventListener("keydown", function (event) {
    var all = links(), at = all.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      clear();
      input.focus();
    } else if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at !== -1) {
      event.preventDefault();
      if (at === 0) input.focus(); else all[at - 1].focus();
    }
  });
})();
