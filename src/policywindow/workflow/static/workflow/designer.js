// The level editor of 审批流程配置: edits a rule's workflow spec (the JSON that spec.parse reads)
// in the browser and asks the server for the live diagram and the problem list on every change.
//
// Written for Alpine's CSP build (components.js explains it): directives name methods and
// getters, which read the x-for variables of the element that asks (this.level, this.li,
// this.node, this.ni, this.person); fields bind with x-model="$model" data-model="node.name".
(() => {
  "use strict";

  // Which assignee fields each kind uses (mirrors candidates._REQUIRED / _OPTIONAL).
  const KIND_FIELDS = {
    dept_role: { required: ["department_id", "role_code"], optional: [] },
    dept_leader: { required: ["department_id"], optional: [] },
    post: { required: ["post_code"], optional: ["department_id"] },
    users: { required: ["user_ids"], optional: [] },
    lead_dept_role: { required: ["role_code"], optional: [] },
    region_dept_role: { required: ["role_code"], optional: ["department_id"] },
  };
  const DEPARTMENT_LABELS = { post: "限定部门（可选）", region_dept_role: "限定上级部门（可选）" };
  const ROLE_LABELS = { lead_dept_role: "牵头部门内的角色", region_dept_role: "企业所在地部门内的角色" };
  const PREVIEW_DELAY_MS = 400;

  const blankAssignee = () => ({ kind: "dept_role", department_id: null, role_code: "", post_code: "", user_ids: [] });

  function editableNode(raw) {
    const assignee = Object.assign(blankAssignee(), raw.assignee || {});
    assignee.user_ids = (assignee.user_ids || []).map(Number);
    const limit = raw.limit || {};
    return {
      key: raw.key,
      name: raw.name || "",
      assignee,
      mode: raw.mode || "any",
      limit: { value: limit.value ?? 2, unit: limit.unit || "days" },
      on_reject: raw.on_reject || "end",
      on_timeout: raw.on_timeout || "remind",
      condition: raw.condition || "",
      showCondition: Boolean(raw.condition),
      userFilter: "", // the 指定人员 list's filter text; not part of the spec
    };
  }

  // The node as spec.parse expects it: only the assignee fields its kind uses.
  function storedNode(node) {
    const fields = KIND_FIELDS[node.assignee.kind] || { required: [], optional: [] };
    const assignee = { kind: node.assignee.kind };
    for (const name of [...fields.required, ...fields.optional]) {
      const value = node.assignee[name];
      if (name === "user_ids") {
        if (value.length) assignee.user_ids = value.map(Number);
      } else if (name === "department_id") {
        if (value) assignee.department_id = Number(value);
      } else if (value) {
        assignee[name] = value;
      }
    }
    const value = Number.parseInt(node.limit.value, 10);
    return {
      key: node.key,
      name: node.name.trim(),
      assignee,
      mode: node.mode,
      limit: { value: Number.isNaN(value) ? null : value, unit: node.limit.unit },
      on_reject: node.on_reject,
      on_timeout: node.on_timeout,
      condition: node.condition.trim(),
    };
  }

  function keyNumber(key) {
    const match = /^n(\d+)$/.exec(key || "");
    return match ? Number(match[1]) : 0;
  }

  document.addEventListener("alpine:init", () => {
    Alpine.data("workflowDesigner", () => ({
      levels: [],
      choices: {},
      lastKey: 0,
      lastLevel: 0,
      saved: "",
      previewSeq: 0,
      previewTimer: null,
      previewing: false,

      init() {
        const data = JSON.parse(document.getElementById("designer-data").textContent);
        this.choices = data.choices;
        this.levels = (data.spec.levels || []).map((level) => ({
          uid: ++this.lastLevel,
          name: level.name || "",
          parallel: level.parallel !== false,
          nodes: (level.nodes || []).map(editableNode),
        }));
        this.lastKey = Math.max(0, ...this.levels.flatMap((l) => l.nodes.map((n) => keyNumber(n.key))));
        // A drawing the server refused to save is shown again, unsaved.
        this.saved = data.unsaved ? "" : this.json;
        // Without the update permission the page is read-only and has no preview URL.
        if (this.$root.dataset.previewUrl) this.$watch("json", () => this.schedulePreview());
        window.addEventListener("beforeunload", (event) => {
          if (this.dirty) event.preventDefault();
        });
      },

      get spec() {
        return {
          levels: this.levels.map((level) => ({
            name: level.name.trim(),
            parallel: level.parallel,
            nodes: level.nodes.map(storedNode),
          })),
        };
      },
      get json() {
        return JSON.stringify(this.spec);
      },
      get dirty() {
        return this.json !== this.saved;
      },
      get publishHint() {
        return this.dirty ? "请先保存草稿再发布" : "";
      },
      get noLevels() {
        return !this.levels.length;
      },
      markSaved() {
        this.saved = this.json;
      },

      // ----------------------------------------------------------------- levels
      addLevel() {
        const name = `第${this.levels.length + 1}级审批`;
        this.levels.push({ uid: ++this.lastLevel, name, parallel: true, nodes: [] });
        this.appendNode(this.levels.length - 1);
      },
      // The methods below run inside x-for="(level, li) in levels".
      levelNumber() {
        return this.li + 1;
      },
      levelTitle() {
        return `第 ${this.li + 1} 级`;
      },
      levelModeText() {
        return this.level.parallel ? "本级各节点同时办理，全部通过后进入下一级" : "本级各节点按顺序逐个办理";
      },
      parallelButton() {
        return this.level.parallel ? "btn-primary" : "btn-outline-primary";
      },
      serialButton() {
        return this.level.parallel ? "btn-outline-primary" : "btn-primary";
      },
      makeParallel() {
        this.level.parallel = true;
      },
      makeSerial() {
        this.level.parallel = false;
      },
      firstLevel() {
        return this.li === 0;
      },
      lastLevel() {
        return this.li === this.levels.length - 1;
      },
      levelEmpty() {
        return !this.level.nodes.length;
      },
      removeLevel() {
        const { level, li } = this;
        if (level.nodes.length && !window.confirm(`删除第 ${li + 1} 级「${level.name}」及其 ${level.nodes.length} 个节点？`)) return;
        this.levels.splice(li, 1);
      },
      moveLevelUp() {
        this.moveLevel(this.li, -1);
      },
      moveLevelDown() {
        this.moveLevel(this.li, 1);
      },
      moveLevel(index, step) {
        const target = index + step;
        if (target < 0 || target >= this.levels.length) return;
        const [level] = this.levels.splice(index, 1);
        this.levels.splice(target, 0, level);
      },

      // ----------------------------------------------------------------- nodes
      appendNode(levelIndex) {
        this.lastKey += 1;
        this.levels[levelIndex].nodes.push(
          editableNode({ key: `n${this.lastKey}`, name: `审批节点${this.lastKey}` }),
        );
      },
      addNode() {
        this.appendNode(this.li);
      },
      // The methods below run inside x-for="(node, ni) in level.nodes".
      severalNodes() {
        return this.level.nodes.length > 1;
      },
      firstNode() {
        return this.ni === 0;
      },
      lastNode() {
        return this.ni === this.level.nodes.length - 1;
      },
      removeNode() {
        this.level.nodes.splice(this.ni, 1);
      },
      moveNodeUp() {
        this.moveNode(this.li, this.ni, -1);
      },
      moveNodeDown() {
        this.moveNode(this.li, this.ni, 1);
      },
      moveNode(levelIndex, nodeIndex, step) {
        const nodes = this.levels[levelIndex].nodes;
        const target = nodeIndex + step;
        if (target < 0 || target >= nodes.length) return;
        const [node] = nodes.splice(nodeIndex, 1);
        nodes.splice(target, 0, node);
      },
      nameClass() {
        return { "is-invalid": !this.node.name.trim() };
      },
      // The assignee field a part of the node's form is about: data-assignee-field on it or above.
      assigneeField() {
        return this.$el.closest("[data-assignee-field]").dataset.assigneeField;
      },
      usesField() {
        const fields = KIND_FIELDS[this.node.assignee.kind];
        return Boolean(fields) && [...fields.required, ...fields.optional].includes(this.assigneeField());
      },
      required(node, field) {
        const fields = KIND_FIELDS[node.assignee.kind];
        return Boolean(fields) && fields.required.includes(field);
      },
      missingClass() {
        const field = this.assigneeField();
        if (!this.required(this.node, field)) return { "is-invalid": false };
        const value = this.node.assignee[field];
        return { "is-invalid": Array.isArray(value) ? value.length === 0 : !value };
      },
      departmentLabel() {
        return DEPARTMENT_LABELS[this.node.assignee.kind] || "部门";
      },
      departmentPlaceholder() {
        return this.required(this.node, "department_id") ? "请选择部门" : "不限";
      },
      roleLabel() {
        return ROLE_LABELS[this.node.assignee.kind] || "角色";
      },
      limitMax() {
        return this.choices.max_limit[this.node.limit.unit];
      },
      limitClass() {
        const value = Number(this.node.limit.value);
        return { "is-invalid": !Number.isInteger(value) || value < 1 || value > this.limitMax() };
      },
      staff() {
        const text = this.node.userFilter.trim();
        const chosen = new Set(this.node.assignee.user_ids);
        return this.choices.users.filter(
          (u) => chosen.has(u.id) || !text || u.name.includes(text) || u.department.includes(text),
        );
      },
      // Inside x-for="person in staff".
      personChosen() {
        return this.node.assignee.user_ids.includes(this.person.id);
      },
      toggleUser(event) {
        const { node, person } = this;
        const ids = node.assignee.user_ids.filter((value) => value !== person.id);
        if (event.target.checked) ids.push(person.id);
        node.assignee.user_ids = ids;
      },
      conditionHidden() {
        return !this.node.showCondition;
      },
      openCondition() {
        this.node.showCondition = true;
      },
      clearCondition() {
        this.node.condition = "";
        this.node.showCondition = false;
      },

      // ----------------------------------------------------------------- preview
      schedulePreview() {
        clearTimeout(this.previewTimer);
        this.previewTimer = setTimeout(() => this.preview(), PREVIEW_DELAY_MS);
      },
      async preview() {
        const seq = ++this.previewSeq;
        const body = new URLSearchParams({ spec: this.json });
        this.previewing = true;
        try {
          const response = await fetch(this.$root.dataset.previewUrl, {
            method: "POST",
            headers: { "X-CSRFToken": this.$root.dataset.csrf },
            body,
            credentials: "same-origin",
          });
          const html = await response.text();
          // Answers can overtake each other; only the newest drawing is shown.
          if (seq === this.previewSeq) this.$refs.preview.innerHTML = response.ok ? html : this.failed();
        } catch {
          if (seq === this.previewSeq) this.$refs.preview.innerHTML = this.failed();
        } finally {
          if (seq === this.previewSeq) this.previewing = false;
        }
      },
      failed() {
        return '<div class="alert alert-warning mb-0">预览暂时无法更新，请检查网络后继续编辑。</div>';
      },
    }));
  });
})();
