// Renders /api/openapi.json as a page: operations by tag, each with its auth, parameters,
// request body and answers; schemas shown as JSON with their $refs resolved one level deep.
"use strict";

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function resolve(doc, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { [name]: doc.components.schemas[name] };
  }
  return schema;
}

function schemaBlock(doc, content) {
  const box = el("div");
  for (const [type, media] of Object.entries(content || {})) {
    box.append(el("p", type));
    box.append(el("pre", JSON.stringify(resolve(doc, media.schema), null, 2)));
  }
  return box;
}

function operation(doc, path, method, op) {
  const item = el("details", null, { "data-testid": "operation", id: op.operationId });
  item.append(el("summary", `${method.toUpperCase()} ${path} — ${op.summary}`));
  const auth = (op.security || []).map((s) => Object.keys(s).join(" + ")).join(" or ");
  item.append(el("p", `Auth: ${auth || "none"}`));
  for (const param of op.parameters || []) {
    item.append(el("p", `${param.in} ${param.name}: ${JSON.stringify(param.schema)}`));
  }
  if (op.requestBody) {
    item.append(el("h4", "Body"));
    item.append(schemaBlock(doc, op.requestBody.content));
  }
  item.append(el("h4", "Answers"));
  for (const [status, answer] of Object.entries(op.responses)) {
    item.append(el("p", `${status} ${answer.description}`));
    if (status < "400") item.append(schemaBlock(doc, answer.content));
  }
  return item;
}

function render(doc) {
  const main = document.getElementById("docs");
  main.replaceChildren(el("p", doc.info.description));
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push(operation(doc, path, method, op));
    }
  }
  for (const [tag, items] of Object.entries(byTag)) {
    const section = el("section", null, { "data-testid": "tag" });
    section.append(el("h2", tag), ...items);
    main.append(section);
  }
  main.append(el("h2", "Errors"), el("pre", JSON.stringify(doc.components.schemas.Error, null, 2)));
}

fetch("/api/openapi.json")
  .then((answer) => answer.json())
  .then(render)
  .catch((error) => {
    document.getElementById("docs").replaceChildren(el("p", `Could not load: ${error}`));
  });
