// The report form's map: a progressive enhancement. Without JavaScript, or when the map tiles
// cannot load (no internet), the latitude/longitude and place fields are used as they are.
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box) return;
  var lat = document.getElementById("lat"), lon = document.getElementById("long");
  var status = document.getElementById("map-status");
  var zoom = 16, size = 256;
  var centre = [parseFloat(box.getAttribute("data-lat")), parseFloat(box.getAttribute("data-long"))];
  if (lat.value && lon.value) centre = [parseFloat(lat.value), parseFloat(lon.value)];

  function toTile(la, lo) {
    var n = Math.pow(2, zoom), r = la * Math.PI / 180;
    return [(lo + 180) / 360 * n, (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n];
  }
  function toLatLong(x, y) {
    var n = Math.pow(2, zoom);
    return [Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI, x / n * 360 - 180];
  }
  var origin = toTile(centre[0], centre[1]);
  var width = box.clientWidth || 320, height = 300;
  var left = origin[0] * size - width / 2, top = origin[1] * size - height / 2;
  var failed = false;
  box.style.position = "relative"; box.style.overflow = "hidden"; box.style.height = height + "px";
  box.hidden = false;
  for (var tx = Math.floor(left / size); tx <= Math.floor((left + width) / size); tx++) {
    for (var ty = Math.floor(top / size); ty <= Math.floor((top + height) / size); ty++) {
      var img = document.createElement("img");
      img.src = "https://tile.openstreetmap.org/" + zoom + "/" + tx + "/" + ty + ".png";
      img.alt = ""; img.width = size; img.height = size;
      img.style.position = "absolute"; img.style.left = (tx * size - left) + "px"; img.style.top = (ty * size - top) + "px";
      img.onerror = function () {
        if (failed) return;
        failed = true; box.hidden = true;
        status.textContent = status.getAttribute("data-offline");
      };
      box.appendChild(img);
    }
  }
  var marker = document.createElement("div");
  marker.setAttribute("aria-hidden", "true");
  marker.style.cssText = "position:absolute;width:20px;height:20px;margin:-10px 0 0 -10px;border-radius:50%;background:#b00020;border:3px solid #fff;display:none";
  box.appendChild(marker);
  function place(la, lo) {
    var p = toTile(la, lo);
    marker.style.left = (p[0] * size - left) + "px"; marker.style.top = (p[1] * size - top) + "px";
    marker.style.display = "block";
    lat.value = la.toFixed(6); lon.value = lo.toFixed(6);
    status.textContent = status.getAttribute("data-placed");
  }
  if (lat.value && lon.value) place(parseFloat(lat.value), parseFloat(lon.value));
  box.addEventListener("click", function (e) {
    var r = box.getBoundingClientRect();
    var ll = toLatLong((left + e.clientX - r.left) / size, (top + e.clientY - r.top) / size);
    place(ll[0], ll[1]);
  });
  var here = document.getElementById("use-location");
  if (here && navigator.geolocation) {
    here.hidden = false;
    here.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) { place(pos.coords.latitude, pos.coords.longitude); });
    });
  }
})();
