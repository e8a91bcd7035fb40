# The part of nixpkgs' lib that nix/ uses, written with builtins.
let
  inherit (builtins) attrNames concatLists concatStringsSep elem filter foldl' genericClosure head
    isFunction length listToAttrs map match replaceStrings stringLength substring;
  lib = rec {
    inherit attrNames elem filter concatStringsSep;
    inherit (builtins) mapAttrs attrValues any;
    nameValuePair = name: value: { inherit name value; };
    mapAttrs' = f: set: listToAttrs (map (name: f name set.${name}) (attrNames set));
    mapAttrsToList = f: set: map (name: f name set.${name}) (attrNames set);
    filterAttrs = pred: set: listToAttrs (concatLists (map (name: if pred name set.${name} then [ (nameValuePair name set.${name}) ] else [ ]) (attrNames set)));
    genAttrs = names: f: listToAttrs (map (name: nameValuePair name (f name)) names);
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalAttrs = cond: set: if cond then set else { };
    optionalString = cond: s: if cond then s else "";
    concatStrings = concatStringsSep "";
    concatMapStrings = f: list: concatStrings (map f list);
    hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
    hasInfix = infix: s: match ".*${escapeRegex infix}.*" s != null;
    escapeRegex = replaceStrings [ "." "+" "*" "?" "(" ")" "[" "]" "{" "}" "|" "^" "$" "\\" ] [ "\\." "\\+" "\\*" "\\?" "\\(" "\\)" "\\[" "\\]" "\\{" "\\}" "\\|" "\\^" "\\$" "\\\\" ];
    removePrefix = prefix: s: if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
    subtractLists = remove: filter (x: !(elem x remove));
    assertMsg = cond: msg: if cond then true else throw msg;
    makeBinPath = paths: concatStringsSep ":" (map (p: "${p}/bin") paths);
    makeLibraryPath = paths: concatStringsSep ":" (map (p: "${p}/lib") paths);
    versions.major = v: head (builtins.splitVersion v);
    composeExtensions = f: g: final: prev: let fApplied = f final prev; in fApplied // g final (prev // fApplied);
    composeManyExtensions = foldl' composeExtensions (_: _: { });
    fix = f: let x = f x; in x;
  };
in
lib
