/* Filters and keyboard navigation of the report's image galleries. No dependencies, no network.
   Without JavaScript every image stays visible and the filters stay hidden. */
(function () {
  "use strict";

  function has(list, word) {
    return (" " + (list || "") + " ").indexOf(" " + word + " ") >= 0;
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
      let shown = 0;
      items.forEach(function (li) {
        const ok = (!factor || has(li.dataset.sampled, factor))
          && (!direction || li.dataset.direction === direction)
          && (!meta || li.dataset.metaclass === meta)
          && (!only.checked || li.dataset.only === factor);
        li.hidden = !ok;
        if (ok) shown += 1;
      });
      let text = "Showing " + shown + " of " + items.length + " images";
      const radio = form.querySelector("input[type=radio][name$='-factor']:checked");
      if (factor && radio && radio.dataset.total) {
        text += " (" + Number(radio.dataset.total).toLocaleString("en") + " mistakes carry this factor in all)";
      }
      status.textContent = text + ".";
      if (empty) empty.hidden = shown > 0;
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
      if (!card) return;
      const visible = visibleCards();
      const at = visible.indexOf(card);
      if (at < 0) return;
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(visible), ArrowUp: -columns(visible) };
      let next = null;
      if (event.key in step) next = visible[Math.min(Math.max(at + step[event.key], 0), visible.length - 1)];
      else if (event.key === "Home") next = visible[0];
      else if (event.key === "End") next = visible[visible.length - 1];
      if (!next) return;
      event.preventDefault();
      rove(next);
      next.focus();
    });
    list.addEventListener("focusin", function (event) {
      const card = event.target.closest(".card");
      if (card) rove(card);
    });
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    apply();
    return { form: form, apply: apply };
  }

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
})();
