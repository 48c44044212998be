/* Filters, paging, enlarged images and keyboard navigation of the report's galleries, and a
   hint on tables wider than the screen. No dependencies, no network. Without JavaScript
   every image stays visible (at card size) and the filters stay hidden. */
(function () {
  "use strict";

  const PAGE = 24; // cards shown at once (a comparison's gallery: data-page), so a phone page stays short

  function has(list, word) {
    return (" " + (list || "") + " ").indexOf(" " + word + " ") >= 0;
  }

  function count(n) {
    return Number(n).toLocaleString("en");
  }

  function initGallery(root) {
    const form = root.querySelector("form.filters");
    const list = root.querySelector("ul.cards");
    if (!form || !list) return;
    const items = Array.from(list.children);
    const cards = items.map(function (li) { return li.querySelector(".card"); });
    const status = form.querySelector(".status");
    const empty = root.querySelector("p.empty");
    const only = form.querySelector("input[name=only]");
    const metaclass = form.querySelector("select[name=metaclass]");
    const page = Number(root.dataset.page) || PAGE;
    const more = document.createElement("button");
    more.type = "button";
    more.className = "more";
    list.after(more);
    let limit = page;
    form.hidden = false;

    function checked(suffix) {
      const input = form.querySelector("input[type=radio][name$='-" + suffix + "']:checked");
      return input ? input.value : "";
    }

    function visibleCards() {
      return cards.filter(function (card, i) { return !items[i].hidden; });
    }

    function rove(target) {
      cards.forEach(function (card) { card.tabIndex = card === target ? 0 : -1; });
    }

    function apply() {
      const factor = checked("factor");
      const direction = checked("direction");
      const meta = metaclass ? metaclass.value : "";
      only.disabled = !factor;
      if (!factor) only.checked = false;
      let matching = 0;
      items.forEach(function (li) {
        const ok = (!factor || has(li.dataset.sampled, factor))
          && (!direction || li.dataset.direction === direction)
          && (!meta || li.dataset.metaclass === meta)
          && (!only.checked || li.dataset.only === factor);
        li.dataset.match = ok ? "1" : "";
        if (ok) matching += 1;
      });
      let shown = 0;
      items.forEach(function (li) {
        const show = li.dataset.match === "1" && shown < limit;
        li.hidden = !show;
        if (show) shown += 1;
      });
      let text = "Showing " + shown + " of " + matching + (matching === items.length ? "" : " matching") +
        " images" + (matching === items.length ? "" : " (" + items.length + " in this gallery)");
      const radio = form.querySelector("input[type=radio][name$='-factor']:checked");
      if (factor && radio) {
        if (only.checked) {
          text += "; " + count(radio.dataset.alone) + " of the " + count(radio.dataset.total) +
            " images with this factor have it alone, of which the sample shows " + matching;
        } else {
          text += "; " + count(radio.dataset.total) + " images with this factor in all, of which the sample shows " +
            (radio.nextElementSibling.querySelector(".n") || {}).textContent;
        }
      }
      status.textContent = text + ".";
      if (empty) empty.hidden = matching > 0;
      more.hidden = shown >= matching;
      more.textContent = "Show " + Math.min(page, matching - shown) + " more (" + (matching - shown) + " left)";
      const first = visibleCards()[0];
      rove(first || null);
    }

    function columns(visible) {
      if (visible.length < 2) return 1;
      const top = visible[0].getBoundingClientRect().top;
      let n = 0;
      while (n < visible.length && Math.abs(visible[n].getBoundingClientRect().top - top) < 2) n += 1;
      return Math.max(n, 1);
    }

    list.addEventListener("keydown", function (event) {
      const card = event.target.closest(".card");
      if (!card || event.target.closest("button")) return;
      const visible = visibleCards();
      const at = visible.indexOf(card);
      if (at < 0) return;
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(visible), ArrowUp: -columns(visible) };
      let next = null;
      if (event.key in step) next = visible[Math.min(Math.max(at + step[event.key], 0), visible.length - 1)];
      else if (event.key === "Home") next = visible[0];
      else if (event.key === "End") next = visible[visible.length - 1];
      else if (event.key === "Enter" && event.target === card) {
        const thumb = card.querySelector("button.thumb");
        if (thumb) { event.preventDefault(); enlarge(thumb); }
        return;
      }
      if (!next) return;
      event.preventDefault();
      rove(next);
      next.focus();
    });
    list.addEventListener("focusin", function (event) {
      const card = event.target.closest(".card");
      if (card) rove(card);
    });
    more.addEventListener("click", function () {
      const before = visibleCards().length;
      limit += page;
      apply();
      const next = visibleCards()[before];
      if (next) { rove(next); next.focus(); }
    });
    form.addEventListener("change", function () { limit = page; apply(); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    apply();
    return { form: form, apply: function () { limit = page; apply(); } };
  }

  // Enlarged image: the same embedded picture (its class), shown in a dialog at a readable size.
  const dialog = document.getElementById("zoom");
  function enlarge(thumb) {
    if (!dialog || typeof dialog.showModal !== "function") return;
    const box = dialog.querySelector(".zoom-img");
    const picture = Array.from(thumb.classList).filter(function (c) { return /^t\d+$/.test(c); })[0];
    box.className = "zoom-img " + picture;
    box.style.aspectRatio = thumb.dataset.w + "/" + thumb.dataset.h;
    // up to 2.5 times the stored size (more would only blur), within the screen
    box.style.width = "min(90vw, 82vh, " + Math.round(2.5 * Math.max(thumb.dataset.w, thumb.dataset.h)) + "px)";
    box.setAttribute("aria-label", thumb.getAttribute("aria-label"));
    dialog.querySelector(".zoom-caption").textContent = thumb.getAttribute("aria-label");
    dialog.showModal();
  }
  document.addEventListener("click", function (event) {
    const thumb = event.target.closest && event.target.closest("button.thumb");
    if (thumb) enlarge(thumb);
    else if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  const galleries = {};
  document.querySelectorAll("[data-gallery]").forEach(function (root) {
    const gallery = initGallery(root);
    if (gallery) galleries[root.id] = gallery;
  });

  // "show them" links of the factor table: pick the factor in the mistakes gallery, then jump there.
  document.querySelectorAll("a[data-show-factor]").forEach(function (link) {
    link.addEventListener("click", function () {
      const gallery = galleries["mistakes-gallery"];
      if (!gallery) return;
      const input = gallery.form.querySelector("input[type=radio][value='" + link.dataset.showFactor + "']");
      if (input) {
        input.checked = true;
        gallery.apply();
      }
    });
  });

  // Tables wider than the screen scroll in their box: say so above the box, while it is so.
  const boxes = Array.from(document.querySelectorAll(".scroll"));
  boxes.forEach(function (box) {
    // hint and box in one wrapper, so that a grid around the box keeps its cells
    const wrap = document.createElement("div");
    wrap.className = "scroll-wrap";
    const hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.setAttribute("aria-hidden", "true");
    hint.textContent = "Wider than the screen: swipe the table sideways →";
    box.before(wrap);
    wrap.append(hint, box);
  });
  function hints() {
    boxes.forEach(function (box) {
      box.previousElementSibling.hidden = box.scrollWidth <= box.clientWidth + 1;
    });
  }
  window.addEventListener("resize", hints);
  hints();
})();
