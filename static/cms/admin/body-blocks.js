/* Body-block editor helper for the article admin: show only the fields that matter for each
 * block's kind. Paragraphs and quotes use the rich-text editor (rich_text), headings and lists
 * the plain text box (text). Reordering is django-admin-sortable2's drag and drop. */
(function () {
  "use strict";
  var FIELDS = {
    paragraph: ["rich_text"],
    heading: ["text"],
    quote: ["rich_text", "attribution"],
    list: ["text"],
    image: ["image", "caption", "alt_text"],
  };
  var ALL = ["rich_text", "text", "attribution", "image", "caption", "alt_text"];

  function blocks(group) {
    return Array.prototype.filter.call(
      group.querySelectorAll(".inline-related"),
      function (el) { return !el.classList.contains("empty-form") && el.id.indexOf("-empty") === -1; }
    );
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

  function prepare(group) {
    blocks(group).forEach(showFieldsFor);
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
  });
})();
