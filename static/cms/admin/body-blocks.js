/* Body-block editor helpers for the article admin: move blocks up and down, keep positions in
 * the order shown, and show only the fields that matter for each block's kind. */
(function () {
  "use strict";
  var FIELDS = {
    paragraph: ["text"],
    heading: ["text"],
    quote: ["text", "attribution"],
    list: ["text"],
    image: ["image", "caption", "alt_text"],
  };
  var ALL = ["text", "attribution", "image", "caption", "alt_text"];

  function blocks(group) {
    return Array.prototype.filter.call(
      group.querySelectorAll(".inline-related"),
      function (el) { return !el.classList.contains("empty-form") && el.id.indexOf("-empty") === -1; }
    );
  }

  function renumber(group) {
    blocks(group).forEach(function (block, index) {
      var input = block.querySelector("input[name$='-position']");
      if (input) { input.value = index + 1; }
    });
  }

  function showFieldsFor(block) {
    var select = block.querySelector("select[name$='-kind']");
    if (!select) { return; }
    var wanted = FIELDS[select.value] || ALL;
    ALL.forEach(function (name) {
      var row = block.querySelector(".field-" + name);
      if (row) { row.style.display = wanted.indexOf(name) === -1 ? "none" : ""; }
    });
  }

  function addMoveButtons(group, block) {
    if (block.querySelector(".block-move")) { return; }
    var header = block.querySelector("h3");
    if (!header) { return; }
    [["↑", "Move block up", -1], ["↓", "Move block down", 1]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "block-move";
      button.textContent = spec[0];
      button.title = spec[1];
      button.setAttribute("aria-label", spec[1]);
      button.style.marginLeft = "0.5em";
      button.addEventListener("click", function () {
        var list = blocks(group);
        var index = list.indexOf(block);
        var target = list[index + spec[2]];
        if (!target) { return; }
        if (spec[2] < 0) { target.parentNode.insertBefore(block, target); }
        else { target.parentNode.insertBefore(target, block); }
        renumber(group);
        button.focus();
      });
      header.appendChild(button);
    });
  }

  function prepare(group) {
    blocks(group).forEach(function (block) {
      addMoveButtons(group, block);
      showFieldsFor(block);
    });
    renumber(group);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var group = document.getElementById("blocks-group");
    if (!group) { return; }
    prepare(group);
    group.addEventListener("change", function (event) {
      if (event.target.name && /-kind$/.test(event.target.name)) {
        showFieldsFor(event.target.closest(".inline-related"));
      }
    });
    document.addEventListener("formset:added", function () { prepare(group); });
    var form = group.closest("form");
    if (form) { form.addEventListener("submit", function () { renumber(group); }); }
  });
})();
