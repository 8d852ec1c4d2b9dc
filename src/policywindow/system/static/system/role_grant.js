// 分配权限: ticking a node ticks its descendants and, when ticked, its ancestors
// (Alpine component for the CSP build: handlers take no arguments but the event).
document.addEventListener("alpine:init", () => {
  "use strict";

  Alpine.data("roleGrant", () => ({
    box(id) {
      return id ? this.$root.querySelector(`input[name="menus"][value="${id}"]`) : null;
    },
    setDescendants(id, on) {
      this.$root.querySelectorAll(`input[name="menus"][data-parent="${id}"]`).forEach((child) => {
        child.checked = on;
        this.setDescendants(child.value, on);
      });
    },
    toggle(event) {
      const box = event.target;
      if (box.name !== "menus") return;
      this.setDescendants(box.value, box.checked);
      for (let up = this.box(box.dataset.parent); box.checked && up; up = this.box(up.dataset.parent)) {
        up.checked = true;
      }
    },
    setAll(on) {
      this.$root.querySelectorAll('input[name="menus"]').forEach((b) => {
        b.checked = on;
      });
    },
    selectAll() {
      this.setAll(true);
    },
    selectNone() {
      this.setAll(false);
    },
  }));
});
