/* lab script written for camaudit; the "/hikvision://" marker is what Greenbone's
   gb_hikvision_ip_camera_http_detect.nasl looks for in /doc/script/inc.js */
var m_szNamePwd = "";
function lab_scheme() {{ return "/hikvision://"; }}
