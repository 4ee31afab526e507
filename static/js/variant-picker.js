/*
 * The size picker on a product page: choosing a size shows that size's panel at once (price, stock,
 * Pay button and QR code, reserve and waitlist forms) and puts ?price=<its Stripe price> in the
 * address, so a reload or a shared link shows the same size.
 *
 *   <form data-variant-picker> … <input type="radio" name="price" value="price_…"> …
 *     <button data-variant-picker-submit>   (only needed without JavaScript: hidden here)
 *   <section data-variant-panel="price_…" hidden> … </section>   one per variant
 *
 * live-stock.js disables a sold-out size's radio (data-disable-when="sold-out"); a buyer who had
 * it chosen keeps seeing its panel, which then says sold out and offers the waitlist.
 */
(function () {
  "use strict";

  var picker = document.querySelector("[data-variant-picker]");
  if (!picker) {
    return;
  }
  var submit = picker.querySelector("[data-variant-picker-submit]");
  if (submit) {
    submit.hidden = true;
  }

  function showPanel(price) {
    document.querySelectorAll("[data-variant-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-variant-panel") !== price;
    });
    var url = new URL(window.location.href);
    url.searchParams.delete("size");
    url.searchParams.delete("colour");
    url.searchParams.set("price", price);
    window.history.replaceState(null, "", url.toString());
  }

  picker.addEventListener("change", function (event) {
    if (event.target && event.target.name === "price" && event.target.checked) {
      showPanel(event.target.value);
    }
  });
  picker.addEventListener("submit", function (event) {
    event.preventDefault();
  });
})();
