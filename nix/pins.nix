# What the flake knows without nixpkgs: the components, their pinned sources and
# their Python environments, read from components/*/{component,environment}.toml,
# components/*/pyproject.toml and flake.lock. Builtins only, so every value here
# evaluates offline and on old Nix (2.8).
{ root }:
let
  inherit (builtins)
    attrNames concatMap filter fromJSON fromTOML head isString listToAttrs
    mapAttrs match pathExists readDir readFile replaceStrings;

  componentsDir = root + "/components";
  entries = readDir componentsDir;
  dirNames = filter (name: entries.${name} == "directory") (attrNames entries);

  # component.toml: a service LoRA Pilot runs; environment.toml: an environment a
  # service launches (a trainer), with a pinned source but no process of its own.
  specOf = name:
    let dir = componentsDir + "/${name}"; in
    if pathExists (dir + "/component.toml") then
      [ { inherit name; value = fromTOML (readFile (dir + "/component.toml")) // { kind = "service"; }; } ]
    else if pathExists (dir + "/environment.toml") then
      [ { inherit name; value = fromTOML (readFile (dir + "/environment.toml")) // { kind = "environment"; }; } ]
    else [ ];
  specs = listToAttrs (concatMap specOf dirNames);

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  slug = s: replaceStrings (upper ++ [ "_" "." " " ]) (lower ++ [ "-" "-" "-" ]) s;

  # Flake input names: the component's name; a submodule's is "<component>-<slug of its
  # folder name>" (kohya's sd-scripts -> kohya-sd-scripts).
  submoduleInput = component: path: "${component}-${slug (baseNameOf path)}";

  gitSources = listToAttrs (concatMap (name:
    let source = specs.${name}.source or { }; in
    if (source.type or null) != "git" then [ ] else [ {
      inherit name;
      value = {
        input = name;
        inherit (source) url rev;
        submodules = mapAttrs (path: pin: {
          input = submoduleInput name path;
          inherit path;
          inherit (pin) url rev;
        }) (source.submodules or { });
      };
    } ]) (attrNames specs));

  # components/<name>/custom-nodes.toml: custom nodes placed in the component's tree (ComfyUI's custom_nodes/),
  # fetched from GitHub by the recorded NAR hash. { component = [ { name, owner, repo, rev, hash } ] }.
  customNodes = listToAttrs (concatMap (name:
    let
      file = componentsDir + "/${name}/custom-nodes.toml";
      github = node:
        let m = match "https://github\\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)" node.repository; in
        if m == null then
          throw "components/${name}/custom-nodes.toml: node ${node.name}: Nix fetches only https://github.com/OWNER/REPO repositories, got ${node.repository}"
        else { inherit (node) name rev hash; owner = head m; repo = builtins.elemAt m 1; };
    in
    if pathExists file then [ { inherit name; value = map github ((fromTOML (readFile file)).node or [ ]); } ] else [ ]
  ) dirNames);

  trim = s: let m = match "[[:space:]]*([^[:space:]]*)[[:space:]]*" s; in if m == null then s else head m;

  # Every components/<name>/ with pyproject.toml + uv.lock is one isolated environment.
  pythonEnvs = listToAttrs (concatMap (name:
    let
      dir = componentsDir + "/${name}";
      pyproject = fromTOML (readFile (dir + "/pyproject.toml"));
      markers = pyproject.tool.uv.environments or [ ];
      # An environment limited to one machine says so in tool.uv.environments.
      onMachine = machine: markers == [ ] || builtins.any (m: match ".*platform_machine.*" m == null || match ".*platform_machine == '${machine}'.*" m != null) markers;
    in
    if pathExists (dir + "/pyproject.toml") && pathExists (dir + "/uv.lock") then [ {
      inherit name;
      value = {
        inherit dir;
        python = trim (readFile (dir + "/.python-version"));
        systems = filter (system: onMachine (head (match "([^-]+)-.*" system))) [ "x86_64-linux" "aarch64-linux" ];
      };
    } ] else [ ]) dirNames);

  lock = fromJSON (readFile (root + "/flake.lock"));
  rootInputs = lock.nodes.${lock.root}.inputs;
  lockedNode = input:
    let ref = rootInputs.${input} or null; in
    if ref == null || !(isString ref) then null else lock.nodes.${ref};

  # Every way component pins and flake.lock disagree, as readable sentences.
  pinProblems = concatMap (name:
    let
      src = gitSources.${name};
      check = where: pin:
        let node = lockedNode pin.input; in
        if node == null then [ "${where}: no flake input named '${pin.input}' in flake.lock" ]
        else if (node.locked.rev or null) != pin.rev then
          [ "${where}: rev ${pin.rev} but flake.lock input '${pin.input}' is at ${node.locked.rev or "no rev"}" ]
        else if (node.flake or true) != false then [ "${where}: flake.lock input '${pin.input}' must be flake = false" ]
        else [ ];
      file = "components/${name}/${if specs.${name}.kind == "service" then "component" else "environment"}.toml";
    in
    check file src ++ concatMap (path: check "${file} submodule ${path}" src.submodules.${path}) (attrNames src.submodules)
  ) (attrNames gitSources);

  ports = mapAttrs (_: spec: spec.port) (filterAttrs' (_: spec: spec.kind == "service") specs);
  filterAttrs' = pred: set: listToAttrs (concatMap (name: if pred name set.${name} then [ { inherit name; value = set.${name}; } ] else [ ]) (attrNames set));
in
{
  inherit specs gitSources customNodes pythonEnvs pinProblems ports submoduleInput;
  services = filterAttrs' (_: spec: spec.kind == "service") specs;
  environments = filterAttrs' (_: spec: spec.kind == "environment") specs;
}
