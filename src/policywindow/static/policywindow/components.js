// The Alpine components shared by the pages, for Alpine's CSP build.
//
// The CSP build evaluates no JavaScript from attributes: a directive names a property or a
// method of its component (dotted paths allowed, e.g. x-text="node.key"); a method is called
// with `this` set to the component merged with any x-for variables and magics, so `this.$el`
// is the element whose directive asked, and event handlers receive the event. What an
// expression used to compute inline is a getter or method here, and elements pass constant
// arguments as data-* attributes.
(() => {
  "use strict";

  // The value of a form field by name: a select's or input's value, or the checked radio's.
  function fieldValue(form, name) {
    const field = form.elements.namedItem(name);
    if (!field) return "";
    if (field instanceof RadioNodeList) return field.value;
    if (field.type === "radio" || field.type === "checkbox") return field.checked ? field.value : "";
    return field.value;
  }

  function resolve(scope, path) {
    return path.split(".").reduce((value, key) => value[key], scope);
  }

  document.addEventListener("alpine:init", () => {
    // x-model="$model" data-model="node.name": two-way binding to a dotted path of the
    // component (or an x-for variable). The CSP build cannot evaluate the assignment that
    // x-model="node.name" compiles to; x-model accepts a {get, set} object instead.
    Alpine.magic("model", (el) => {
      const data = Alpine.$data(el);
      const path = el.dataset.model.split(".");
      const key = path.pop();
      const owner = () => (path.length ? resolve(data, path.join(".")) : data);
      return {
        get: () => owner()[key],
        set: (value) => {
          owner()[key] = value;
        },
      };
    });

    // A form with row checkboxes: `picked` counts the ticked ones (recount on @change).
    Alpine.data("pickCount", () => ({
      picked: 0,
      init() {
        this.recount();
      },
      recount() {
        this.picked = this.$root.querySelectorAll('input[type="checkbox"]:checked').length;
      },
      get nonePicked() {
        return this.picked === 0;
      },
    }));

    // A "select all" checkbox: data-select-all names the checkboxes it ticks or clears.
    Alpine.data("selectAll", () => ({
      toggleAll() {
        const all = this.$el;
        this.$root.querySelectorAll(`input[type="checkbox"][name="${all.dataset.selectAll}"]`).forEach((box) => {
          box.checked = all.checked;
        });
      },
    }));

    // A "mark all as …" button: data-mark-value names the radio value it checks in every group.
    Alpine.data("markAll", () => ({
      markAll() {
        const value = this.$el.dataset.markValue;
        this.$root.querySelectorAll(`input[type="radio"][value="${value}"]`).forEach((radio) => {
          radio.checked = true;
        });
      },
    }));

    // Parts of a form shown only for some values of one field (data-switch-field on the
    // component): each part lists its values as a JSON array in data-show-when, "" meaning
    // "nothing chosen yet". The component re-reads the field on @change.
    Alpine.data("fieldSwitch", () => ({
      value: "",
      init() {
        this.sync();
      },
      sync() {
        const form = this.$root.closest("form") || this.$root;
        this.value = fieldValue(form, this.$root.dataset.switchField);
      },
      shown() {
        return JSON.parse(this.$el.dataset.showWhen).includes(this.value);
      },
    }));
  });
})();
